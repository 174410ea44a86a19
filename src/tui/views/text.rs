//! Cutting styled lines to a width, so neighbouring parts of a line never run into each other.

use ratatui::text::{Line, Span};

/// `line` cut to `width` columns, its last column an `…` when something was cut.
pub fn clip<'a>(line: Line<'a>, width: usize) -> Line<'a> {
    if line.width() <= width {
        return line;
    }
    let mut left = width.saturating_sub(1);
    let mut spans = Vec::new();
    let style = line.style;
    let alignment = line.alignment;
    let mut last_style = ratatui::style::Style::default();
    for span in line.spans {
        if left == 0 {
            break;
        }
        last_style = span.style;
        let mut text = String::new();
        for c in span.content.chars() {
            let w = Span::raw(c.to_string()).width();
            if w > left {
                left = 0;
                break;
            }
            left -= w;
            text.push(c);
        }
        spans.push(Span::styled(text, span.style));
    }
    if width > 0 {
        spans.push(Span::styled("…", last_style));
    }
    let mut out = Line::from(spans).style(style);
    out.alignment = alignment;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_with_an_ellipsis_across_spans() {
        let line = Line::from(vec![Span::raw("profile "), Span::raw("default")]);
        assert_eq!(clip(line.clone(), 20).to_string(), "profile default");
        assert_eq!(clip(line.clone(), 15).to_string(), "profile default");
        assert_eq!(clip(line.clone(), 10).to_string(), "profile d…");
        assert_eq!(clip(line.clone(), 8).to_string(), "profile…");
        assert_eq!(clip(line.clone(), 1).to_string(), "…");
        assert_eq!(clip(line, 0).to_string(), "");
    }
}
