// Command sumdb-server is the end-to-end tests' reference checksum
// database: golang.org/x/mod/sumdb's own server (the code behind
// sum.golang.org's protocol) over an in-memory log.
//
//	sumdb-server -gosum FILE [-name NAME] [-listen ADDR] [-pad N] [-preload] [-signer FILE]
//
// FILE holds go.sum lines (`path version h1:…` and `path version/go.mod
// h1:…`); a lookup of path@version is answered with that version's two
// lines and 404 for a version the file does not have. -pad N appends N
// made-up records first (so the tree has full tiles and several levels);
// -preload appends every version of FILE at start (in file order), so the
// tree never grows; without it a version is appended at its first lookup,
// as sum.golang.org does. -signer keeps the signer key in FILE, so that a
// second server can sign a different history with the same key (a fork).
//
// Its key is random, with a '+' in the base64 part of the verifier key.
// It prints `VERIFIER <key>` and `URL http://<addr>` on stdout, then
// serves /latest, /lookup/ and /tile/ at the root. GET /_stats answers
// `{"latest":N,"lookup":N,"tile":N,"other":N}`: the requests seen so far.
package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ops is the test server with out-of-range tiles answered as not found
// (the in-memory server would panic on them).
type ops struct {
	*sumdb.TestServer
}

func (o ops) ReadTileData(ctx context.Context, t tlog.Tile) (data []byte, err error) {
	defer func() {
		if recover() != nil {
			data, err = nil, os.ErrNotExist
		}
	}()
	return o.TestServer.ReadTileData(ctx, t)
}

func (o ops) ReadRecords(ctx context.Context, id, n int64) ([][]byte, error) {
	recs, err := o.TestServer.ReadRecords(ctx, id, n)
	if err != nil {
		return nil, os.ErrNotExist
	}
	return recs, nil
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	name := flag.String("name", "sumdb.modgate.test", "database name")
	gosumFile := flag.String("gosum", "", "file of go.sum lines")
	pad := flag.Int("pad", 0, "made-up records appended first")
	preload := flag.Bool("preload", false, "append every version of -gosum at start")
	signerFile := flag.String("signer", "", "signer key file: read if it exists, else written")
	flag.Parse()

	records := map[string][]byte{} // path@version -> go.sum lines
	var order []module.Version
	f, err := os.Open(*gosumFile)
	if err != nil {
		log.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 3 {
			log.Fatalf("bad go.sum line %q", sc.Text())
		}
		vers := strings.TrimSuffix(fields[1], "/go.mod")
		key := fields[0] + "@" + vers
		if _, ok := records[key]; !ok {
			order = append(order, module.Version{Path: fields[0], Version: vers})
		}
		records[key] = append(records[key], []byte(sc.Text()+"\n")...)
	}
	if err := sc.Err(); err != nil {
		log.Fatal(err)
	}
	f.Close()

	var padded []module.Version
	for i := 0; i < *pad; i++ {
		m := module.Version{Path: fmt.Sprintf("example.com/pad/p%05d", i), Version: "v1.0.0"}
		h1 := func(s string) string {
			sum := sha256.Sum256([]byte(s))
			return "h1:" + base64.StdEncoding.EncodeToString(sum[:])
		}
		records[m.String()] = []byte(fmt.Sprintf("%s %s %s\n%s %s/go.mod %s\n",
			m.Path, m.Version, h1(m.String()), m.Path, m.Version, h1(m.String()+"/go.mod")))
		padded = append(padded, m)
	}

	// A key whose base64 has a '+' (as sum.golang.org's has): the key
	// part of NAME+HASH+KEY may contain the separator, and every run
	// tests that.
	var skey, vkey string
	if *signerFile != "" {
		if data, err := os.ReadFile(*signerFile); err == nil {
			skey = strings.TrimSpace(string(data))
			signer, err := note.NewSigner(skey)
			if err != nil {
				log.Fatal(err)
			}
			vkey, err = verifierOf(skey, signer.KeyHash())
			if err != nil {
				log.Fatal(err)
			}
		}
	}
	for skey == "" {
		skey, vkey, err = note.GenerateKey(rand.Reader, *name)
		if err != nil {
			log.Fatal(err)
		}
		if key64 := strings.SplitN(vkey, "+", 3)[2]; !strings.Contains(key64, "+") {
			skey = ""
		}
	}
	if *signerFile != "" {
		if err := os.WriteFile(*signerFile, []byte(skey+"\n"), 0o600); err != nil {
			log.Fatal(err)
		}
	}
	ts := sumdb.NewTestServer(skey, func(path, vers string) ([]byte, error) {
		if data, ok := records[path+"@"+vers]; ok {
			return data, nil
		}
		return nil, os.ErrNotExist
	})
	ctx := context.Background()
	if *preload {
		padded = append(padded, order...)
	}
	for _, m := range padded {
		if _, err := ts.Lookup(ctx, m); err != nil {
			log.Fatal(err)
		}
	}

	var latest, lookup, tile, other atomic.Int64
	srv := sumdb.NewServer(ops{ts})
	mux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case p == "/_stats":
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]int64{
				"latest": latest.Load(), "lookup": lookup.Load(),
				"tile": tile.Load(), "other": other.Load(),
			})
			return
		case p == "/latest":
			latest.Add(1)
		case strings.HasPrefix(p, "/lookup/"):
			lookup.Add(1)
		case strings.HasPrefix(p, "/tile/"):
			tile.Add(1)
		default:
			other.Add(1)
		}
		log.Printf("%s %s", r.Method, r.URL.RequestURI())
		srv.ServeHTTP(w, r)
	})

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("VERIFIER %s\nURL http://%s\n", vkey, ln.Addr())
	os.Stdout.Sync()
	log.Fatal(http.Serve(ln, mux))
}

// verifierOf is the verifier key of signer key skey
// (PRIVATE+KEY+name+hash+key: the public key is derived from the seed).
func verifierOf(skey string, hash uint32) (string, error) {
	f := strings.SplitN(skey, "+", 5)
	if len(f) != 5 || f[0] != "PRIVATE" || f[1] != "KEY" {
		return "", fmt.Errorf("malformed signer key")
	}
	raw, err := base64.StdEncoding.DecodeString(f[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return "", fmt.Errorf("malformed signer key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	return fmt.Sprintf("%s+%08x+%s", f[2], hash,
		base64.StdEncoding.EncodeToString(append([]byte{1}, pub...))), nil
}
