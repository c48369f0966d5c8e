//! Logging: the tracing subscriber, and a writer that keeps every log entry on one line.
//!
//! The pretty format writes field values as they are, so a value with a newline in it (a
//! username typed by an attacker, say) could forge a second, fake log line. Each event
//! reaches the writer in one piece, so the writer escapes every control character in it but
//! the final newline. The JSON format escapes on its own.

use crate::config::LogFormat;
use std::io::{self, Write};

pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("XINFANG_LOG")
        .unwrap_or_else(|_| "info,sqlx=warn,sea_orm=warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| OneLine(io::stderr()));
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.with_ansi(false).try_init(),
    };
}

/// Escapes control characters (but a trailing newline) in what it writes.
pub struct OneLine<W: Write>(pub W);

/// One log entry with its control characters written as escapes (`\n`, `\r`, `\u{1b}` …),
/// keeping a single trailing newline.
pub fn one_line(entry: &str) -> String {
    let (body, newline) = match entry.strip_suffix('\n') {
        Some(body) => (body, true),
        None => (entry, false),
    };
    let mut out = String::with_capacity(body.len() + 1);
    for ch in body.chars() {
        if ch.is_control() {
            out.extend(ch.escape_default());
        } else {
            out.push(ch);
        }
    }
    if newline {
        out.push('\n');
    }
    out
}

impl<W: Write> Write for OneLine<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(one_line(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newline_in_a_value_cannot_start_a_second_log_line() {
        let forged =
            "WARN sign-in failed username=eve\n2026-12-01T00:00:00Z INFO admin signed in\n";
        let written = one_line(forged);
        assert_eq!(written.matches('\n').count(), 1);
        assert!(written.ends_with('\n'));
        assert!(written.contains("eve\\n2026"));
        assert_eq!(one_line("tab\there\u{1b}[31m\n"), "tab\\there\\u{1b}[31m\n");
    }
}
