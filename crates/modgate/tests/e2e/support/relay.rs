//! A TCP relay on loopback in front of a real server (the S3 server), with
//! faults switched on and off while it runs: it can stop passing bytes
//! (the server then seems to accept requests and never answer, as a hung
//! bucket or load balancer does), or strip `If-None-Match` from requests (a
//! bucket, or a proxy before it, that stops honouring create-only writes).

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    Pass,
    /// Bytes in either direction are swallowed.
    Hang,
    /// Requests lose their `If-None-Match` header: writes replace. A second
    /// write of one checksum-database log record is also held back a while,
    /// so it lands after the first writer read its record back: the fork
    /// such a bucket allows happens every time, not when timing permits.
    IgnoreCreateOnly,
}

pub struct Relay {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    mode: Arc<AtomicU8>,
    stop: Arc<AtomicBool>,
}

impl Relay {
    /// Relays every connection to `target` (`host:port`).
    pub fn start(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let mode = Arc::new(AtomicU8::new(Mode::Pass as u8));
        let stop = Arc::new(AtomicBool::new(false));
        let (target, modes, stopped) = (target.to_owned(), mode.clone(), stop.clone());
        let written = Arc::new(Mutex::new(HashSet::new()));
        std::thread::spawn(move || {
            while !stopped.load(Ordering::SeqCst) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                for (from, to, requests) in [
                    (
                        client.try_clone().unwrap(),
                        server.try_clone().unwrap(),
                        true,
                    ),
                    (server, client, false),
                ] {
                    let (modes, stopped, written) =
                        (modes.clone(), stopped.clone(), written.clone());
                    std::thread::spawn(move || {
                        pump(from, to, requests, &modes, &stopped, &written)
                    });
                }
            }
        });
        Self {
            endpoint,
            mode,
            stop,
        }
    }

    /// An S3 client environment (`S3Server::env`) with this relay as the endpoint.
    pub fn env(&self, s3: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
        s3.into_iter()
            .map(|(k, v)| match k {
                "AWS_ENDPOINT_URL" => (k, self.endpoint.clone()),
                _ => (k, v),
            })
            .collect()
    }

    /// The fault from now on.
    pub fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }
}

/// The header a create-only write carries, as hyper writes it, and a
/// harmless one of the same length to put in its place.
const CREATE_ONLY: &[u8] = b"if-none-match:";
const IGNORED: &[u8] = b"x-ignored-hdr:";

fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    requests: bool,
    mode: &AtomicU8,
    stop: &AtomicBool,
    written: &Mutex<HashSet<Vec<u8>>>,
) {
    from.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = [0; 64 << 10];
    while !stop.load(Ordering::SeqCst) {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(_) if mode.load(Ordering::SeqCst) == Mode::Hang as u8 => {}
            Ok(n) => {
                if requests && mode.load(Ordering::SeqCst) == Mode::IgnoreCreateOnly as u8 {
                    let mut at = 0;
                    while let Some(i) = buf[at..n]
                        .windows(CREATE_ONLY.len())
                        .position(|w| w.eq_ignore_ascii_case(CREATE_ONLY))
                    {
                        buf[at + i..at + i + IGNORED.len()].copy_from_slice(IGNORED);
                        at += i + IGNORED.len();
                    }
                    if let Some(record) = log_record_put(&buf[..n])
                        && !written.lock().unwrap().insert(record.to_vec())
                    {
                        std::thread::sleep(Duration::from_millis(1500));
                    }
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// The path of a request that writes a checksum-database log record, if
/// `chunk` starts one.
fn log_record_put(chunk: &[u8]) -> Option<&[u8]> {
    let line = chunk.strip_prefix(b"PUT ")?;
    let path = &line[..line.iter().position(|&b| b == b' ')?];
    path.windows(12)
        .any(|w| w == b"/log/record/")
        .then_some(path)
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
