//! A real SMTP listener for the tests: a small in-process server on a random port that
//! speaks enough SMTP (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) for lettre, keeps
//! every message it accepts, and can refuse recipients with a passing (451) or
//! permanent (550) reply, or hold its answer to a message's data (a delivery in flight).
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl Received {
    /// The value of a header (first occurrence, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }

    /// The body with quoted-printable soft breaks and `=XX` escapes undone.
    pub fn decoded(&self) -> String {
        let joined = self.data.replace("=\r\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'='
                && i + 2 < bytes.len()
                && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// How the sink answers `RCPT TO` for an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accept,
    /// 451: try again later.
    Passing,
    /// 550: never.
    Permanent,
}

#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    pub received: Arc<Mutex<Vec<Received>>>,
    rules: Arc<Mutex<Vec<(String, Answer)>>>,
    /// While true, the answer to each message's data waits (and the message is not kept).
    hold: Arc<tokio::sync::watch::Sender<bool>>,
    /// Messages whose answer is waiting.
    held: Arc<std::sync::atomic::AtomicUsize>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
        let port = listener.local_addr().expect("addr").port();
        let sink = SmtpSink {
            port,
            received: Arc::default(),
            rules: Arc::default(),
            hold: Arc::new(tokio::sync::watch::channel(false).0),
            held: Arc::default(),
        };
        let s = sink.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = s.session(sock).await;
                });
            }
        });
        sink
    }

    /// Answers `RCPT TO:<address>` with `answer` from now on.
    pub fn answer(&self, address: &str, answer: Answer) {
        self.rules
            .lock()
            .expect("rules")
            .push((address.to_lowercase(), answer));
    }

    /// Holds (`true`) or releases (`false`) the answers to messages' data.
    pub fn hold(&self, on: bool) {
        self.hold.send_replace(on);
    }

    /// How many messages wait for their answer.
    pub fn held(&self) -> usize {
        self.held.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().expect("received").clone()
    }

    /// Messages to `address`.
    pub fn to(&self, address: &str) -> Vec<Received> {
        self.messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .collect()
    }

    fn rule(&self, address: &str) -> Answer {
        self.rules
            .lock()
            .expect("rules")
            .iter()
            .rev()
            .find(|(a, _)| *a == address.to_lowercase())
            .map(|(_, r)| *r)
            .unwrap_or(Answer::Accept)
    }

    async fn session(&self, sock: tokio::net::TcpStream) -> std::io::Result<()> {
        let (r, mut w) = sock.into_split();
        let mut lines = BufReader::new(r);
        w.write_all(b"220 sink.test ESMTP\r\n").await?;
        let mut from = String::new();
        let mut to = Vec::new();
        loop {
            let mut line = String::new();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let cmd = line.trim_end().to_owned();
            let upper = cmd.to_uppercase();
            if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                w.write_all(b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                    .await?;
            } else if upper.starts_with("MAIL FROM:") {
                from = addr(&cmd[10..]);
                to.clear();
                w.write_all(b"250 OK\r\n").await?;
            } else if upper.starts_with("RCPT TO:") {
                let a = addr(&cmd[8..]);
                match self.rule(&a) {
                    Answer::Accept => {
                        to.push(a);
                        w.write_all(b"250 OK\r\n").await?;
                    }
                    Answer::Passing => w.write_all(b"451 4.3.0 Try again later\r\n").await?,
                    Answer::Permanent => w.write_all(b"550 5.1.1 No such user\r\n").await?,
                }
            } else if upper == "DATA" {
                w.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    if lines.read_line(&mut l).await? == 0 {
                        return Ok(());
                    }
                    if l == ".\r\n" || l == ".\n" {
                        break;
                    }
                    data.push_str(
                        l.strip_prefix('.')
                            .filter(|_| l.starts_with(".."))
                            .unwrap_or(&l),
                    );
                }
                if *self.hold.borrow() {
                    self.held.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let released = self.hold.subscribe().wait_for(|on| !on).await.is_ok();
                    self.held.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    if !released {
                        return Ok(());
                    }
                }
                self.received.lock().expect("received").push(Received {
                    from: from.clone(),
                    to: std::mem::take(&mut to),
                    data,
                });
                w.write_all(b"250 OK queued\r\n").await?;
            } else if upper == "QUIT" {
                w.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            } else if upper == "RSET" || upper == "NOOP" {
                to.clear();
                w.write_all(b"250 OK\r\n").await?;
            } else {
                w.write_all(b"502 Command not implemented\r\n").await?;
            }
        }
    }
}

fn addr(s: &str) -> String {
    let s = s.trim();
    let inner = s
        .split_once('<')
        .and_then(|(_, r)| r.split_once('>'))
        .map(|(a, _)| a)
        .unwrap_or(s);
    inner.trim().to_owned()
}
