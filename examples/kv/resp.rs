//! RESP2, the Redis serialization protocol: parsing client commands and encoding replies.
//!
//! Clients send commands as arrays of bulk strings (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`); tools like
//! `telnet` send inline commands (`GET k\r\n`). Both are accepted.

use std::fmt;

/// The largest bulk string accepted (Redis' default `proto-max-bulk-len`).
const MAX_BULK: usize = 512 * 1024 * 1024;
/// The largest number of arguments in one command.
const MAX_ARGS: usize = 1024 * 1024;

/// The client broke the protocol; the connection should be answered with an error and closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub &'static str);

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Protocol error: {}", self.0)
    }
}

/// A whole command's arguments and the bytes it took, `None` if more input is needed.
pub type Parsed = Result<Option<(Vec<Vec<u8>>, usize)>, ProtocolError>;

/// Parses one command from the start of `buf`.
///
/// Returns the arguments and the number of bytes they took, or `Ok(None)` if `buf` does not
/// yet hold a whole command.
///
/// # Errors
///
/// A malformed command.
pub fn parse_command(buf: &[u8]) -> Parsed {
    match buf.first() {
        None => Ok(None),
        Some(b'*') => parse_array(buf),
        Some(_) => parse_inline(buf),
    }
}

/// The line starting at `from` (without its `\r\n`) and the index just past it.
fn line(buf: &[u8], from: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(from..)?;
    let nl = rest.iter().position(|&b| b == b'\n')?;
    let end = if nl > 0 && rest[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    };
    Some((&rest[..end], from + nl + 1))
}

fn parse_len(digits: &[u8], what: &'static str) -> Result<i64, ProtocolError> {
    if digits.is_empty() || digits.len() > 18 {
        return Err(ProtocolError(what));
    }
    let (neg, digits) = match digits.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, digits),
    };
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return Err(ProtocolError(what));
        }
        n = n * 10 + i64::from(d - b'0');
    }
    Ok(if neg { -n } else { n })
}

fn parse_array(buf: &[u8]) -> Parsed {
    let Some((header, mut pos)) = line(buf, 0) else {
        return Ok(None);
    };
    let count = parse_len(&header[1..], "invalid multibulk length")?;
    if count <= 0 {
        return Ok(Some((Vec::new(), pos)));
    }
    let count = usize::try_from(count).map_err(|_| ProtocolError("invalid multibulk length"))?;
    if count > MAX_ARGS {
        return Err(ProtocolError("invalid multibulk length"));
    }
    let mut args = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let Some((head, after)) = line(buf, pos) else {
            return Ok(None);
        };
        if head.first() != Some(&b'$') {
            return Err(ProtocolError("expected '$'"));
        }
        let len = parse_len(&head[1..], "invalid bulk length")?;
        let len = usize::try_from(len).map_err(|_| ProtocolError("invalid bulk length"))?;
        if len > MAX_BULK {
            return Err(ProtocolError("invalid bulk length"));
        }
        let end = after + len;
        if buf.len() < end + 2 {
            return Ok(None);
        }
        if &buf[end..end + 2] != b"\r\n" {
            return Err(ProtocolError("bulk string not terminated by CRLF"));
        }
        args.push(buf[after..end].to_vec());
        pos = end + 2;
    }
    Ok(Some((args, pos)))
}

fn parse_inline(buf: &[u8]) -> Parsed {
    let Some((text, pos)) = line(buf, 0) else {
        if buf.len() > 64 * 1024 {
            return Err(ProtocolError("too big inline request"));
        }
        return Ok(None);
    };
    let args = text
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    Ok(Some((args, pos)))
}

/// A reply to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`-style status.
    Status(&'static str),
    /// `-ERR ...`.
    Error(String),
    /// `:n`.
    Int(i64),
    /// `$n\r\n...` or the null bulk `$-1`.
    Bulk(Option<Vec<u8>>),
    /// `*n` followed by the elements.
    Array(Vec<Reply>),
}

impl Reply {
    /// Appends the RESP2 encoding of the reply to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Reply::Status(s) => {
                out.push(b'+');
                out.extend_from_slice(s.as_bytes());
            }
            Reply::Error(e) => {
                out.push(b'-');
                out.extend_from_slice(e.as_bytes());
            }
            Reply::Int(n) => {
                out.push(b':');
                out.extend_from_slice(n.to_string().as_bytes());
            }
            Reply::Bulk(None) => out.extend_from_slice(b"$-1"),
            Reply::Bulk(Some(v)) => {
                out.push(b'$');
                out.extend_from_slice(v.len().to_string().as_bytes());
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(v);
            }
            Reply::Array(items) => {
                out.push(b'*');
                out.extend_from_slice(items.len().to_string().as_bytes());
                out.extend_from_slice(b"\r\n");
                for item in items {
                    item.encode(out);
                }
                return;
            }
        }
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn parses_arrays_and_partial_input() {
        let cmd = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n*1\r\n$4\r\nPING\r\n";
        let (a, n) = parse_command(cmd).unwrap().unwrap();
        assert_eq!(a, args(&["SET", "k", "hello"]));
        let (b, m) = parse_command(&cmd[n..]).unwrap().unwrap();
        assert_eq!(b, args(&["PING"]));
        assert_eq!(n + m, cmd.len());
        for cut in 0..n {
            assert_eq!(parse_command(&cmd[..cut]), Ok(None), "cut at {cut}");
        }
        // Binary-safe values.
        let (a, _) = parse_command(b"*2\r\n$3\r\nGET\r\n$4\r\na\r\nb\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(a[1], b"a\r\nb");
    }

    #[test]
    fn parses_inline() {
        let (a, n) = parse_command(b"set  k v\r\nrest").unwrap().unwrap();
        assert_eq!(a, args(&["set", "k", "v"]));
        assert_eq!(n, 10);
        assert_eq!(parse_command(b"PING"), Ok(None));
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_command(b"*x\r\n").is_err());
        assert!(parse_command(b"*1\r\n:3\r\n").is_err());
        assert!(parse_command(b"*1\r\n$3\r\nabcde\r\n").is_err());
        assert!(parse_command(b"*1\r\n$-5\r\n").is_err());
    }

    #[test]
    fn encodes() {
        let mut out = Vec::new();
        Reply::Array(vec![
            Reply::Status("OK"),
            Reply::Int(-3),
            Reply::Bulk(Some(b"v".to_vec())),
            Reply::Bulk(None),
            Reply::Error("ERR x".into()),
        ])
        .encode(&mut out);
        assert_eq!(out, b"*5\r\n+OK\r\n:-3\r\n$1\r\nv\r\n$-1\r\n-ERR x\r\n");
    }
}
