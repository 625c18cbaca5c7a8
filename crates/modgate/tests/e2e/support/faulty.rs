//! A fault-injecting upstream mirror on loopback: a raw TCP server that
//! serves a GOPROXY tree badly in one chosen way and counts connections.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Accept, read the request, never answer.
    Hang,
    /// Close the connection with a TCP reset.
    Reset,
    /// Answer every request with this status.
    Status(u16),
    /// Send the right headers, then the body a byte at a time, slowly.
    Trickle,
    /// Promise the whole body, send half, close.
    Truncate,
    /// Promise more bytes than the body has, send the body, close.
    WrongLength,
    /// Promise the whole body, send half, then nothing more, connection open.
    Stall,
    /// Serve garbage for every .zip, the truth for the rest.
    GarbageZip,
}

pub struct Faulty {
    pub url: String,
    connections: Arc<AtomicUsize>,
    zips: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Faulty {
    pub fn start(fault: Fault, root: PathBuf) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let zips = Arc::new(AtomicUsize::new(0));
        let (count, zip_count, stopped) = (connections.clone(), zips.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        count.fetch_add(1, Ordering::SeqCst);
                        let (root, stopped, zips) =
                            (root.clone(), stopped.clone(), zip_count.clone());
                        std::thread::spawn(move || handle(stream, fault, &root, &stopped, &zips));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self {
            url,
            connections,
            zips,
            stop,
            thread: Some(thread),
        }
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Requests for .zip files it received.
    pub fn zip_requests(&self) -> usize {
        self.zips.load(Ordering::SeqCst)
    }
}

impl Drop for Faulty {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn read_request_path(stream: &mut TcpStream) -> Option<String> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut buf = Vec::new();
    let mut byte = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut byte).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&byte[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let path = head.split_whitespace().nth(1)?;
    Some(path.split('?').next()?.trim_start_matches('/').to_owned())
}

fn handle(
    mut stream: TcpStream,
    fault: Fault,
    root: &std::path::Path,
    stop: &AtomicBool,
    zips: &AtomicUsize,
) {
    if fault == Fault::Reset {
        // Unread request bytes make the kernel answer the close with a reset.
        std::thread::sleep(Duration::from_millis(20));
        return;
    }
    let Some(path) = read_request_path(&mut stream) else {
        return;
    };
    if path.ends_with(".zip") {
        zips.fetch_add(1, Ordering::SeqCst);
    }
    let status = |stream: &mut TcpStream, code: u16| {
        let body = format!("fault: {code}\n");
        let _ = write!(
            stream,
            "HTTP/1.1 {code} Fault\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    };
    match fault {
        Fault::Hang => {
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
            }
            return;
        }
        Fault::Status(code) => return status(&mut stream, code),
        _ => {}
    }
    let body = match std::fs::read(root.join(&path)) {
        Ok(b) if !path.contains("..") => b,
        _ => return status(&mut stream, 404),
    };
    let head = |stream: &mut TcpStream, len: usize| {
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
        )
    };
    let _ = match fault {
        Fault::Trickle => head(&mut stream, body.len()).and_then(|()| {
            for b in &body {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                stream.write_all(&[*b])?;
                std::thread::sleep(Duration::from_millis(200));
            }
            Ok(())
        }),
        Fault::Truncate => {
            head(&mut stream, body.len()).and_then(|()| stream.write_all(&body[..body.len() / 2]))
        }
        Fault::WrongLength => {
            head(&mut stream, body.len() + 100).and_then(|()| stream.write_all(&body))
        }
        Fault::Stall => head(&mut stream, body.len())
            .and_then(|()| stream.write_all(&body[..body.len() / 2]))
            .map(|()| {
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }),
        Fault::GarbageZip if path.ends_with(".zip") => {
            let garbage = vec![0x5a; body.len()];
            head(&mut stream, garbage.len()).and_then(|()| stream.write_all(&garbage))
        }
        _ => head(&mut stream, body.len()).and_then(|()| stream.write_all(&body)),
    };
}
