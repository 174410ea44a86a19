//! Exports: asciicast v2 (`.cast`, what asciinema plays) and plain text.
//!
//! asciicast v2 is newline-delimited JSON: a header object (`version` 2, `width`, `height`, optional
//! `timestamp` in Unix seconds, `title`, `env`), then one `[time, "o", data]` array per output
//! event, time in seconds from the start.

use std::io::{self, Write};

use super::timeline::Timeline;

#[derive(Debug, Clone)]
pub struct CastOptions {
    pub cols: u16,
    pub rows: u16,
    pub title: Option<String>,
}

impl Default for CastOptions {
    fn default() -> Self {
        CastOptions {
            cols: 80,
            rows: 24,
            title: None,
        }
    }
}

pub fn write_cast(
    out: &mut impl Write,
    timeline: &Timeline,
    options: &CastOptions,
) -> io::Result<()> {
    let mut header = serde_json::json!({
        "version": 2,
        "width": options.cols,
        "height": options.rows,
        "env": {"TERM": "xterm-256color"},
    });
    if let Some(started) = timeline.started {
        header["timestamp"] = serde_json::json!(started.timestamp());
    }
    if let Some(title) = &options.title {
        header["title"] = serde_json::json!(title);
    }
    writeln!(out, "{header}")?;
    for frame in timeline.frames() {
        let data = serde_json::Value::String(frame.terminal_bytes());
        writeln!(out, "[{:.6}, \"o\", {data}]", frame.at.as_secs_f64())?;
    }
    out.flush()
}

/// The output with control sequences removed, one line per line.
pub fn write_text(out: &mut impl Write, timeline: &Timeline) -> io::Result<()> {
    for line in timeline.lines() {
        out.write_all(line.text.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::replay::timeline::LogEvent;

    #[test]
    fn cast_has_a_header_and_timed_output_events() {
        let ev = |t: &str, line: &str| LogEvent {
            timestamp: 0,
            message:
                serde_json::json!({"eventVersion": "1.0", "eventTime": t, "sessionData": [line]})
                    .to_string(),
        };
        let t = Timeline::from_events(&[
            ev("2025-01-02T03:04:05Z", "\x1b[1mhi\x1b[0m \"q\""),
            ev("2025-01-02T03:04:06.5Z", "bye"),
        ]);
        let mut out = Vec::new();
        write_cast(&mut out, &t, &CastOptions::default()).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(header["version"], 2);
        assert_eq!(header["width"], 80);
        assert_eq!(header["height"], 24);
        assert_eq!(header["timestamp"], 1_735_787_045);
        let first: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(
            first,
            serde_json::json!([0.0, "o", "\x1b[1mhi\x1b[0m \"q\"\r\n"])
        );
        let second: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(second[0].as_f64().unwrap(), 1.5);
        assert!(lines.next().is_none());

        let mut plain = Vec::new();
        write_text(&mut plain, &t).unwrap();
        assert_eq!(String::from_utf8(plain).unwrap(), "hi \"q\"\nbye\n");
    }
}
