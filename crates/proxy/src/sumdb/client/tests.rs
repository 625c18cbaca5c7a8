//! The client against a fake checksum database (`super::super::testdb`).

use super::*;
use crate::sumdb::testdb::*;

#[tokio::test]
async fn verifies_hashes_and_names_mismatches() {
    let (skey, vkey) = note::generate_key(NAME).unwrap();
    let (db, url) = database(&skey, &["example.com/a", "example.com/b", "example.com/Up"]).await;
    let (_dir, store) = disk_store();
    let sums = checksums(&vkey, &url, &store);
    assert_eq!(sums.name(), NAME);

    ok(&sums, "example.com/a").await;
    ok(&sums, "example.com/Up").await;
    // Both hashes of a version come from one lookup.
    assert_eq!(lock(&db).lookups, 2);
    assert!(
        stored(&store, "lookup/example.com/!up@v1.0.0")
            .await
            .is_some()
    );
    assert_eq!(
        stored(&store, "verified/3").await.unwrap(),
        Bytes::from(lock(&db).signed())
    );

    for (file, checked) in [
        ("zip", Checked::Zip("h1:forged=")),
        ("go.mod", Checked::Mod("h1:forged=")),
    ] {
        let err = sums
            .verify("example.com/a", "v1.0.0", checked)
            .await
            .unwrap_err();
        let VerifyError::Mismatch { file: f, .. } = &err else {
            panic!("{err}");
        };
        assert_eq!(*f, file);
        let msg = err.to_string();
        let expected = match file {
            "zip" => zip_hash("example.com/a"),
            _ => mod_hash("example.com/a"),
        };
        for part in ["example.com/a@v1.0.0", file, "h1:forged=", &expected, NAME] {
            assert!(msg.contains(part), "{part:?} not in {msg}");
        }
    }

    let err = sums
        .verify("example.com/missing", "v1.0.0", Checked::Zip("h1:x="))
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("not found"), "{err}");
    assert!(
        stored(&store, "lookup/example.com/missing@v1.0.0")
            .await
            .is_none()
    );
}

#[tokio::test]
async fn proves_a_growing_tree_and_older_trees() {
    let (skey, vkey) = note::generate_key(NAME).unwrap();
    let (db, url) = database(&skey, &["example.com/a", "example.com/b", "example.com/c"]).await;
    let (_dir, store) = disk_store();
    let sums = checksums(&vkey, &url, &store);
    ok(&sums, "example.com/a").await;

    // Past a full tile at level 0 and into level 1.
    for i in 0..300 {
        lock(&db).add(&format!("example.com/m{i}"), "v1.0.0");
    }
    ok(&sums, "example.com/m150").await;
    assert!(stored(&store, "verified/303").await.is_some());
    assert!(stored(&store, "tile/8/0/000").await.is_some());

    // A restarted modgate asking a lagging replica: its older tree must be
    // a prefix of the newest verified one.
    lock(&db).tree_n = Some(3);
    let sums = checksums(&vkey, &url, &store);
    ok(&sums, "example.com/b").await;
    assert_eq!(lock(&sums.inner.head).as_ref().unwrap().tree.n, 303);
}

#[tokio::test]
async fn forked_or_tampered_logs_are_corrupt() {
    let (skey, vkey) = note::generate_key(NAME).unwrap();
    let modules = ["example.com/a", "example.com/b", "example.com/c"];
    let (_db, url) = database(&skey, &modules).await;
    let (_dir, store) = disk_store();
    ok(&checksums(&vkey, &url, &store), "example.com/a").await;

    // The same size, another b: a fork. So is a longer log without our tree.
    let (fork, fork_url) = database(&skey, &[]).await;
    lock(&fork).add("example.com/a", "v1.0.0");
    lock(&fork).add_record("example.com/b", "v1.0.0", "h1:other=", "h1:other=");
    lock(&fork).add("example.com/c", "v1.0.0");
    let sums = checksums(&vkey, &fork_url, &store);
    for n in [3, 4] {
        lock(&fork).tree_n = Some(n);
        if n == 4 {
            lock(&fork).add("example.com/d", "v1.0.0");
        }
        let err = sums
            .verify(
                "example.com/c",
                "v1.0.0",
                Checked::Zip(&zip_hash("example.com/c")),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, VerifyError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("forked or corrupt"), "{err}");
    }
    assert!(
        stored(&store, "lookup/example.com/c@v1.0.0")
            .await
            .is_none()
    );
    assert_eq!(lock(&sums.inner.head).as_ref().unwrap().tree.n, 3);
    let err = sums
        .answer(&path("lookup/example.com/c@v1.0.0"))
        .await
        .unwrap_err();
    assert!(matches!(err, SumdbError::Unavailable(_)), "{err}");

    // Tiles that do not hash up to the signed tree.
    let (db, url) = database(&skey, &modules).await;
    lock(&db).tamper = true;
    let (_dir, store) = disk_store();
    let err = checksums(&vkey, &url, &store)
        .verify(
            "example.com/b",
            "v1.0.0",
            Checked::Zip(&zip_hash("example.com/b")),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::Corrupt { .. }), "{err}");
    assert!(stored(&store, "tile/8/0/000.p/3").await.is_none());

    // A signature by another key.
    let (other_skey, _) = note::generate_key(NAME).unwrap();
    let (_db, url) = database(&other_skey, &modules).await;
    let err = checksums(&vkey, &url, &store)
        .verify(
            "example.com/b",
            "v1.0.0",
            Checked::Zip(&zip_hash("example.com/b")),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::Corrupt { .. }), "{err}");
}

#[tokio::test]
async fn a_database_outage_is_served_from_the_store() {
    let (skey, vkey) = note::generate_key(NAME).unwrap();
    let (db, url) = database(&skey, &["example.com/a", "example.com/b"]).await;
    let (_dir, store) = disk_store();
    let sums = checksums(&vkey, &url, &store);
    ok(&sums, "example.com/a").await;
    let latest = sums.answer(&path("latest")).await.unwrap();
    assert!(!latest.immutable);
    assert_eq!(latest.body, Bytes::from(lock(&db).signed()));

    lock(&db).down = true;
    ok(&sums, "example.com/a").await;
    let err = sums
        .verify(
            "example.com/b",
            "v1.0.0",
            Checked::Zip(&zip_hash("example.com/b")),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::Unavailable { .. }), "{err}");
    let lookup = sums
        .answer(&path("lookup/example.com/a@v1.0.0"))
        .await
        .unwrap();
    assert!(lookup.immutable);
    assert!(lookup.body.starts_with(b"0\nexample.com/a v1.0.0 "));
    let tile = sums.answer(&path("tile/8/0/000.p/2")).await.unwrap();
    assert_eq!(tile.body.len(), 2 * HASH_SIZE);
    let err = sums
        .answer(&path("lookup/example.com/b@v1.0.0"))
        .await
        .unwrap_err();
    assert!(matches!(err, SumdbError::Unavailable(_)), "{err}");
    // Past its time to live, the last latest is better than none.
    *lock(&sums.inner.latest) = Some((Instant::now() - LATEST_TTL, latest.body.clone()));
    assert_eq!(
        sums.answer(&path("latest")).await.unwrap().body,
        latest.body
    );

    // Restarted, with the database gone altogether.
    let sums = checksums(&vkey, &dead_url(), &store);
    ok(&sums, "example.com/a").await;
    assert_eq!(
        sums.answer(&path("latest")).await.unwrap().body,
        latest.body
    );
    assert_eq!(
        sums.answer(&path("tile/8/0/000.p/2")).await.unwrap().body,
        tile.body
    );
    // Cut from the stored, proven tile.
    let narrower = sums.answer(&path("tile/8/0/000.p/1")).await.unwrap();
    assert_eq!(narrower.body, tile.body.slice(..HASH_SIZE));
    let err = sums.answer(&path("tile/8/data/000.p/2")).await.unwrap_err();
    assert!(matches!(err, SumdbError::Unavailable(_)), "{err}");
}

#[tokio::test]
async fn answers_are_proven_before_they_are_stored() {
    let (skey, vkey) = note::generate_key(NAME).unwrap();
    let (db, url) = database(&skey, &["example.com/a", "example.com/b", "example.com/c"]).await;
    let (_dir, store) = disk_store();
    let sums = checksums(&vkey, &url, &store);

    let lookup = sums
        .answer(&path("lookup/example.com/b@v1.0.0"))
        .await
        .unwrap();
    let mut want = tlog::format_record(1, &lock(&db).records[1])
        .unwrap()
        .into_bytes();
    want.extend(lock(&db).signed());
    assert_eq!(lookup.body, Bytes::from(want));
    assert!(lookup.immutable);
    assert_eq!(
        stored(&store, "lookup/example.com/b@v1.0.0").await.unwrap(),
        lookup.body
    );
    let err = sums
        .answer(&path("lookup/example.com/z@v1.0.0"))
        .await
        .unwrap_err();
    assert!(matches!(err, SumdbError::NotFound(_)), "{err}");

    // Inside the verified tree: proven and stored.
    let tile = sums.answer(&path("tile/8/0/000.p/2")).await.unwrap();
    let want = tlog::read_tile_data(
        &tlog::parse_tile_path("tile/8/0/000.p/2").unwrap(),
        lock(&db).hashes.as_slice(),
    )
    .unwrap();
    assert_eq!(tile.body, want);
    assert!(stored(&store, "tile/8/0/000.p/2").await.is_some());

    // Beyond it: served as the database sent it, not stored.
    lock(&db).add("example.com/d", "v1.0.0");
    let tile = sums.answer(&path("tile/8/0/000.p/4")).await.unwrap();
    assert_eq!(tile.body.len(), 4 * HASH_SIZE);
    assert!(stored(&store, "tile/8/0/000.p/4").await.is_none());
    let err = sums.answer(&path("tile/8/0/000.p/5")).await.unwrap_err();
    assert!(matches!(err, SumdbError::NotFound(_)), "{err}");

    let data = sums.answer(&path("tile/8/data/000.p/3")).await.unwrap();
    assert!(data.body.starts_with(b"0\nexample.com/a v1.0.0 "));
    assert!(stored(&store, "tile/8/data/000.p/3").await.is_some());

    let latest = sums.answer(&path("latest")).await.unwrap();
    assert_eq!(latest.body, Bytes::from(lock(&db).signed()));
}

#[tokio::test]
async fn concurrent_lookups_share_one_fetch() {
    let (skey, vkey) = note::generate_key(NAME).unwrap();
    let (db, url) = database(&skey, &["example.com/a", "example.com/b"]).await;
    let (_dir, store) = disk_store();
    let sums = Arc::new(checksums(&vkey, &url, &store));
    let mut waiters = Vec::new();
    for _ in 0..8 {
        let sums = sums.clone();
        waiters.push(tokio::spawn(
            async move { ok(&sums, "example.com/b").await },
        ));
    }
    let answer = {
        let sums = sums.clone();
        tokio::spawn(async move { sums.answer(&path("lookup/example.com/b@v1.0.0")).await })
    };
    for w in waiters {
        w.await.unwrap();
    }
    assert!(answer.await.unwrap().unwrap().immutable);
    assert_eq!(lock(&db).lookups, 1);
}

#[tokio::test]
async fn rejects_bad_paths_and_settings() {
    let (_, vkey) = note::generate_key(NAME).unwrap();
    let (_dir, store) = disk_store();
    for path in [
        "",
        "/latest",
        "latest/",
        "lookup/",
        "lookup/example.com/a",
        "lookup/example.com/a@",
        "lookup/example.com/a@v1.0",
        "lookup/example.com/a@latest",
        "lookup/example.com/a@v1.0.0@v1.0.0",
        "lookup/Example.com/a@v1.0.0",
        "lookup/example.com/a@v1.0.0-RC1",
        "lookup/example.com/a/v2@v1.0.0",
        "lookup/example.com/a@v1.0.0+incompatible",
        "lookup/../a@v1.0.0",
        "lookup/example.com/../a@v1.0.0",
        "tile/8/0/0000",
        "tile/8/0/x001",
        "tile/8/0/001/002",
        "tile/8/0/000.p/0",
        "tile/8/0/000.p/256",
        "tile/31/0/000",
        "tile/8//000",
        "tile/8/0/../000",
        "tile/8/-1/000",
    ] {
        assert!(SumdbPath::parse(path).is_err(), "{path:?}");
    }

    let spec = |key: &str, url: Option<&str>| SumdbSpec::Database {
        key: key.to_owned(),
        url: url.map(str::to_owned),
    };
    let new = |spec| Checksums::new(&spec, store.clone(), reqwest::Client::new());
    assert!(new(SumdbSpec::Off).unwrap().is_none());
    let (_, dots) = note::generate_key("a/../b").unwrap();
    for bad in [
        spec("sum.example+00000000+AAAA", None),
        spec(&dots, None),
        spec(&vkey, Some("ftp://sum.example")),
        spec(&vkey, Some("https://sum.example/?key=secret")),
        spec(&vkey, Some("not a url")),
    ] {
        let Err(SumdbError::BadRequest(msg)) = new(bad.clone()) else {
            panic!("{bad:?} accepted");
        };
        assert!(!msg.contains("secret"), "{msg}");
    }
    let sums = new(spec(&vkey, Some("https://user:secret@sum.example/db/")))
        .unwrap()
        .unwrap();
    assert_eq!(sums.inner.shown, "https://***@sum.example/db");
}
