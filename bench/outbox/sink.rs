//! A fast local SMTP sink for `bench/run-outbox`, and a load client that measures its
//! ceiling. Standard library only (built with `rustc -O`, no crates): one thread per
//! connection, buffered reads, replies written in one go and flushed only before the
//! next read, so a pipelining client gets its replies in one segment.
//!
//!   sink serve ADDR IDS_FILE
//!       Listens on ADDR (e.g. 127.0.0.1:2525) and speaks enough ESMTP for lettre
//!       (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT). Accepts every message and
//!       appends its Message-ID header value (one line per message, `-` when it has
//!       none) to IDS_FILE. Prints `listening ADDR` once it accepts connections.
//!
//!   sink load ADDR CONNECTIONS MESSAGES BYTES
//!       Sends MESSAGES messages of BYTES bytes over CONNECTIONS connections, each
//!       message the way lettre's pooled transport sends it (NOOP to check the pooled
//!       connection, MAIL, RCPT, DATA, body, terminator: one reply awaited per step),
//!       and prints `messages N seconds S per_second R`.
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("serve") if args.len() == 4 => serve(&args[2], &args[3]),
        Some("load") if args.len() == 6 => load(
            &args[2],
            args[3].parse().expect("CONNECTIONS"),
            args[4].parse().expect("MESSAGES"),
            args[5].parse().expect("BYTES"),
        ),
        _ => {
            eprintln!(
                "usage: sink serve ADDR IDS_FILE | sink load ADDR CONNECTIONS MESSAGES BYTES"
            );
            std::process::exit(2);
        }
    };
    if let Err(e) = result {
        eprintln!("sink: {e}");
        std::process::exit(1);
    }
}

fn serve(addr: &str, ids: &str) -> io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    let out = Arc::new(Mutex::new(
        OpenOptions::new().create(true).append(true).open(ids)?,
    ));
    println!("listening {}", listener.local_addr()?);
    io::stdout().flush()?;
    for sock in listener.incoming() {
        let sock = sock?;
        let out = out.clone();
        std::thread::spawn(move || {
            let _ = session(sock, &out);
        });
    }
    Ok(())
}

fn session(sock: TcpStream, out: &Mutex<File>) -> io::Result<()> {
    sock.set_nodelay(true)?;
    let mut r = BufReader::with_capacity(64 * 1024, sock.try_clone()?);
    let mut w = BufWriter::with_capacity(4096, sock);
    w.write_all(b"220 sink.bench ESMTP\r\n")?;
    let mut line = Vec::with_capacity(1024);
    let mut ids = Vec::with_capacity(4096);
    loop {
        // Reply to everything pipelined so far before waiting for more.
        if r.buffer().is_empty() {
            w.flush()?;
        }
        line.clear();
        if r.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let cmd = trim(&line);
        let verb = cmd.get(..4).map(<[u8]>::to_ascii_uppercase);
        match verb.as_deref() {
            Some(b"EHLO") => w.write_all(b"250-sink.bench\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")?,
            Some(b"HELO") => w.write_all(b"250 sink.bench\r\n")?,
            Some(b"MAIL") | Some(b"RCPT") | Some(b"RSET") | Some(b"NOOP") => {
                w.write_all(b"250 OK\r\n")?
            }
            Some(b"DATA") => {
                if r.buffer().is_empty() {
                    w.write_all(b"354 go ahead\r\n")?;
                    w.flush()?;
                } else {
                    w.write_all(b"354 go ahead\r\n")?;
                }
                let mut id: Option<Vec<u8>> = None;
                let mut in_head = true;
                loop {
                    line.clear();
                    if r.read_until(b'\n', &mut line)? == 0 {
                        return Ok(());
                    }
                    let l = trim(&line);
                    if l == b"." {
                        break;
                    }
                    if in_head {
                        if l.is_empty() {
                            in_head = false;
                        } else if id.is_none()
                            && l.len() > 11
                            && l[..11].eq_ignore_ascii_case(b"message-id:")
                        {
                            id = Some(trim_spaces(&l[11..]).to_vec());
                        }
                    }
                }
                ids.clear();
                ids.extend_from_slice(id.as_deref().unwrap_or(b"-"));
                ids.push(b'\n');
                out.lock().expect("ids file").write_all(&ids)?;
                w.write_all(b"250 OK queued\r\n")?;
            }
            Some(b"QUIT") => {
                w.write_all(b"221 bye\r\n")?;
                w.flush()?;
                break;
            }
            _ => w.write_all(b"502 not implemented\r\n")?,
        }
    }
    Ok(())
}

fn trim(l: &[u8]) -> &[u8] {
    let mut end = l.len();
    while end > 0 && (l[end - 1] == b'\n' || l[end - 1] == b'\r') {
        end -= 1;
    }
    &l[..end]
}

fn trim_spaces(l: &[u8]) -> &[u8] {
    let start = l.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(l.len());
    let end = l.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(start, |e| e + 1);
    &l[start..end]
}

fn load(addr: &str, conns: usize, messages: usize, bytes: usize) -> io::Result<()> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let threads: Vec<_> = (0..conns)
        .map(|_| {
            let next = next.clone();
            let addr = addr.to_owned();
            std::thread::spawn(move || client(&addr, &next, messages, bytes))
        })
        .collect();
    let mut sent = 0;
    for t in threads {
        sent += t.join().expect("client thread")?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "messages {sent} seconds {secs:.3} per_second {:.0}",
        sent as f64 / secs
    );
    Ok(())
}

fn client(addr: &str, next: &AtomicUsize, messages: usize, bytes: usize) -> io::Result<usize> {
    let sock = TcpStream::connect(addr)?;
    sock.set_nodelay(true)?;
    let mut r = BufReader::new(sock.try_clone()?);
    let mut w = sock;
    let mut reply = Vec::new();
    let mut expect = |r: &mut BufReader<TcpStream>, code: &[u8]| -> io::Result<()> {
        loop {
            reply.clear();
            r.read_until(b'\n', &mut reply)?;
            if reply.len() < 4 || &reply[..3] != code {
                return Err(io::Error::other(format!(
                    "unexpected reply {:?}",
                    String::from_utf8_lossy(&reply)
                )));
            }
            if reply[3] == b' ' {
                return Ok(());
            }
        }
    };
    expect(&mut r, b"220")?;
    w.write_all(b"EHLO load.bench\r\n")?;
    expect(&mut r, b"250")?;
    let filler: String = "The quick brown fox jumps over the lazy dog. "
        .chars()
        .cycle()
        .take(bytes.saturating_sub(120))
        .collect();
    let mut sent = 0;
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= messages {
            break;
        }
        for (cmd, code) in [
            (&b"NOOP\r\n"[..], b"250"),
            (b"MAIL FROM:<no-reply@cosell.localhost>\r\n", b"250"),
            (b"RCPT TO:<someone@example.test>\r\n", b"250"),
            (b"DATA\r\n", b"354"),
        ] {
            w.write_all(cmd)?;
            expect(&mut r, code)?;
        }
        let msg = format!(
            "Message-ID: <load-{i}@cosell.localhost>\r\nSubject: load\r\n\r\n{filler}\r\n.\r\n"
        );
        w.write_all(msg.as_bytes())?;
        expect(&mut r, b"250")?;
        sent += 1;
    }
    w.write_all(b"QUIT\r\n")?;
    let _ = r.read_to_end(&mut Vec::new());
    Ok(sent)
}
