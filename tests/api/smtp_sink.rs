//! A real SMTP server for the mail tests: Python's `aiosmtpd` writing every message it accepts
//! to a Maildir, and a small decoder for what lettre sends (RFC 2047 subjects, base64 and
//! quoted-printable bodies, multipart/alternative).
//!
//! Without `python3 -m aiosmtpd` the tests that need it are skipped (they print why), unless
//! `CERTFLOW_REQUIRE_SMTP_SINK` is set, as in CI, where a missing server is a failure.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// Whether the SMTP sink can run here. When it cannot: panics if `CERTFLOW_REQUIRE_SMTP_SINK`
/// is set, otherwise prints that the test is skipped and returns `false`.
pub fn available() -> bool {
    static AVAILABLE: OnceLock<Result<(), String>> = OnceLock::new();
    let found = AVAILABLE.get_or_init(|| {
        match Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
        {
            Ok(out) if out.status.success() => Ok(()),
            Ok(out) => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                Err(format!("python3 cannot import aiosmtpd: {}", stderr.trim().lines().last().unwrap_or_default()))
            }
            Err(e) => Err(format!("python3 cannot be run: {e}")),
        }
    });
    match found {
        Ok(()) => true,
        Err(why) if std::env::var_os("CERTFLOW_REQUIRE_SMTP_SINK").is_some() => {
            panic!(
                "CERTFLOW_REQUIRE_SMTP_SINK is set but the SMTP sink cannot start ({why}); pip install aiosmtpd==1.4.6"
            )
        }
        Err(why) => {
            println!("skipped: pip install aiosmtpd ({why})");
            false
        }
    }
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
    listener.local_addr().expect("local address").port()
}

/// A running `aiosmtpd` that stores every message in its own Maildir; killed on drop.
pub struct SmtpSink {
    pub port: u16,
    child: Child,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpSink {
    /// Starts a sink on a free loopback port.
    pub async fn start() -> SmtpSink {
        SmtpSink::start_on(free_port()).await
    }

    /// Starts a sink on `port` (e.g. where the application already sends, to bring a "down"
    /// server up) and waits until it accepts connections.
    pub async fn start_on(port: u16) -> SmtpSink {
        let dir = tempfile::tempdir().expect("temp dir");
        let maildir = dir.path().join("Maildir");
        // aiosmtpd's Mailbox handler answers 5xx unless the Maildir is complete.
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).expect("create Maildir");
        }
        let log_path = dir.path().join("aiosmtpd.log");
        let log = std::fs::File::create(&log_path).expect("log file");
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("spawn python3 -m aiosmtpd");
        let mut sink = SmtpSink { port, child, maildir, _dir: dir };
        // Wait for readiness: the server is up once the port accepts a connection.
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        for _ in 0..200 {
            if let Some(status) = sink.child.try_wait().expect("child status") {
                panic!(
                    "aiosmtpd on port {port} exited at start ({status}): {}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                );
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return sink;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "aiosmtpd did not accept connections on port {port} within 5 s: {}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
    }

    /// `smtp://127.0.0.1:PORT`, for `settings.smtp_url`.
    #[allow(dead_code)]
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, in the order the outbox queued them (by the outbox id in
    /// the Message-ID), then by file name.
    pub fn messages(&self) -> Vec<Mail> {
        read_messages(&self.maildir.join("new"))
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A decoded message.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    pub subject: String,
    pub to: String,
    pub from: String,
    pub message_id: String,
    pub content_language: Option<String>,
    /// The text/plain body, decoded, with `\n` line ends.
    pub body: String,
    /// The raw file, for failure messages.
    #[allow(dead_code)]
    pub raw: String,
}

impl Mail {
    /// The outbox id in lettre's `<outbox-ID-TIMESTAMP@domain>` Message-ID.
    pub fn outbox_id(&self) -> Option<i64> {
        self.message_id.trim_start_matches('<').strip_prefix("outbox-")?.split('-').next()?.parse().ok()
    }
}

/// Parses every file in `dir` (a Maildir's `new`, or a folder of `.eml` files).
pub fn read_messages(dir: &Path) -> Vec<Mail> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.map(|e| e.expect("dir entry").path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    files.sort();
    let mut mails: Vec<Mail> = files.iter().map(|p| parse(&std::fs::read(p).expect("read message"))).collect();
    mails.sort_by_key(|m| m.outbox_id().unwrap_or(i64::MAX));
    mails
}

/// Parses one RFC 5322 message.
pub fn parse(raw: &[u8]) -> Mail {
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let (headers, body) = split_headers(&text);
    let header = |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
    Mail {
        subject: decode_words(&header("Subject").unwrap_or_default()),
        to: decode_words(&header("To").unwrap_or_default()),
        from: decode_words(&header("From").unwrap_or_default()),
        message_id: header("Message-ID").unwrap_or_default().trim().to_string(),
        content_language: header("Content-Language").map(|v| v.trim().to_string()),
        body: text_body(&headers, body),
        raw: text.clone(),
    }
}

/// Headers (unfolded) and the rest.
fn split_headers(text: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = match text.find("\n\n") {
        Some(i) => (&text[..i], &text[i + 2..]),
        None => (text, ""),
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = headers.last_mut() {
                v.push_str(line);
            }
        } else if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim_start().to_string()));
        }
    }
    (headers, body)
}

/// A header parameter, e.g. `boundary` of `multipart/alternative; boundary="…"`.
fn param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The decoded text/plain part of a (possibly multipart) entity.
fn text_body(headers: &[(String, String)], body: &str) -> String {
    let get = |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    let ctype = get("Content-Type").unwrap_or("text/plain");
    if ctype.trim_start().to_ascii_lowercase().starts_with("multipart/") {
        let boundary = param(ctype, "boundary").expect("a multipart boundary");
        let delimiter = format!("--{boundary}");
        let parts: Vec<&str> = body.split(delimiter.as_str()).skip(1).filter(|p| !p.starts_with("--")).collect();
        let mut first = None;
        for part in parts {
            let part = part.strip_prefix('\n').unwrap_or(part);
            let (h, b) = split_headers(part);
            let is_plain = h.iter().any(|(k, v)| {
                k.eq_ignore_ascii_case("Content-Type") && v.to_ascii_lowercase().starts_with("text/plain")
            });
            let decoded = text_body(&h, b);
            if is_plain {
                return decoded;
            }
            first.get_or_insert(decoded);
        }
        return first.unwrap_or_default();
    }
    let bytes = match get("Content-Transfer-Encoding").map(|e| e.trim().to_ascii_lowercase()).as_deref() {
        Some("base64") => base64_decode(body),
        Some("quoted-printable") => qp_decode(body),
        _ => body.as_bytes().to_vec(),
    };
    String::from_utf8_lossy(&bytes).replace("\r\n", "\n")
}

/// Decodes RFC 2047 encoded words; whitespace between two adjacent encoded words is dropped,
/// and the bytes of adjacent words are joined before UTF-8 decoding (a character may be split).
pub fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find("=?") {
        let Some(word) = encoded_word(&rest[start..]) else {
            // Not an encoded word: keep "=?" literally and go on.
            flush(&mut out, &mut pending);
            out.push_str(&rest[..start + 2]);
            rest = &rest[start + 2..];
            continue;
        };
        let between = &rest[..start];
        // Whitespace between two encoded words is not part of the text.
        let joins_previous_word = between.trim().is_empty() && !pending.is_empty();
        if !joins_previous_word {
            flush(&mut out, &mut pending);
            out.push_str(between);
        }
        pending.extend(word.1);
        rest = &rest[start + word.0..];
    }
    flush(&mut out, &mut pending);
    out.push_str(rest);
    out
}

fn flush(out: &mut String, pending: &mut Vec<u8>) {
    if !pending.is_empty() {
        out.push_str(&String::from_utf8_lossy(pending));
        pending.clear();
    }
}

/// `=?charset?B|Q?text?=` at the start of `s`: (length, decoded bytes).
fn encoded_word(s: &str) -> Option<(usize, Vec<u8>)> {
    let inner = s.strip_prefix("=?")?;
    let (_charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let text = &inner[..end];
    if text.contains(char::is_whitespace) {
        return None;
    }
    let len = s.len() - inner.len() + end + 2;
    let bytes = match encoding {
        "b" | "B" => base64_decode(text),
        "q" | "Q" => qp_decode(&text.replace('_', " ")),
        _ => return None,
    };
    Some((len, bytes))
}

/// Standard base64, ignoring whitespace and padding.
fn base64_decode(s: &str) -> Vec<u8> {
    fn value(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for v in s.bytes().filter_map(value) {
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Quoted-printable: `=XX` escapes and `=` soft line breaks.
fn qp_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            if b.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') {
                i += 3;
                continue;
            }
            if let Some(hex) = s.get(i + 1..i + 3)
                && let Ok(v) = u8::from_str_radix(hex, 16)
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

#[test]
fn the_mail_decoder_reads_what_lettre_writes() {
    assert_eq!(decode_words("=?utf-8?b?5L2g?= =?utf-8?b?5aW9?= x"), "你好 x");
    // A character split across two words.
    assert_eq!(decode_words("=?utf-8?b?5L2g5Q==?= =?utf-8?b?pb0=?="), "你好");
    assert_eq!(decode_words("a =?UTF-8?Q?caf=C3=A9_au_lait?= b"), "a café au lait b");
    assert_eq!(decode_words("no =? words"), "no =? words");
    let m = parse(
        b"Subject: [x] Task\r\n assigned\r\nTo: a@b.cn\r\nContent-Transfer-Encoding: base64\r\n\r\n5L2g5aW9\r\nCg==\r\n",
    );
    assert_eq!((m.subject.as_str(), m.to.as_str(), m.body.as_str()), ("[x] Task assigned", "a@b.cn", "你好\n"));
    let m = parse(b"Content-Transfer-Encoding: quoted-printable\n\nline=3D1 long=\n line\n");
    assert_eq!(m.body, "line=1 long line\n");
}
