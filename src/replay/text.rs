//! Terminal output as plain text: escape sequences removed, carriage returns and backspaces
//! applied the way a terminal would (a progress bar ends as its last state), other controls dropped.

/// Strips ANSI/VT escape sequences (CSI, OSC, DCS/SOS/PM/APC, two- and three-byte ESC forms) and
/// C0/C1 controls except newline and tab. `\r` returns to the start of the line and later text
/// overwrites; `\r\n` is a plain newline; backspace moves one column left.
pub fn strip_controls(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut line: Vec<char> = Vec::new();
    let mut col = 0usize;
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => skip_escape(&mut chars),
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\n' => {
                out.extend(line.drain(..));
                out.push('\n');
                col = 0;
            }
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    col = 0;
                }
            }
            '\x08' => col = col.saturating_sub(1),
            '\t' => put(&mut line, &mut col, '\t'),
            c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => {}
            c => put(&mut line, &mut col, c),
        }
    }
    out.extend(line);
    out
}

fn put(line: &mut Vec<char>, col: &mut usize, c: char) {
    if *col < line.len() {
        line[*col] = c;
    } else {
        line.push(c);
    }
    *col += 1;
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn skip_escape(chars: &mut Chars) {
    match chars.next() {
        Some('[') => skip_csi(chars),
        Some(']' | 'P' | 'X' | '^' | '_') => skip_string(chars),
        // ESC, intermediates (0x20–0x2F), final: e.g. ESC ( B, ESC # 8.
        Some(c) if ('\x20'..='\x2f').contains(&c) => {
            while let Some(&n) = chars.peek() {
                chars.next();
                if !('\x20'..='\x2f').contains(&n) {
                    break;
                }
            }
        }
        _ => {}
    }
}

/// Parameters and intermediates, then one final byte in 0x40–0x7E.
fn skip_csi(chars: &mut Chars) {
    for c in chars.by_ref() {
        if ('\x40'..='\x7e').contains(&c) {
            break;
        }
    }
}

/// Up to BEL or ST (ESC \ or 0x9C).
fn skip_string(chars: &mut Chars) {
    while let Some(c) = chars.next() {
        match c {
            '\x07' | '\u{9c}' => break,
            '\x1b' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                break;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::strip_controls;

    #[test]
    fn removes_escapes_and_applies_carriage_returns() {
        assert_eq!(strip_controls("\x1b[1;32mok\x1b[0m done\r\n"), "ok done\n");
        assert_eq!(
            strip_controls("\x1b]0;user@host: ~\x07\x1b[?2004huser@host:~$ ls"),
            "user@host:~$ ls"
        );
        assert_eq!(strip_controls(" 10%\r 50%\r100%\n"), "100%\n");
        assert_eq!(strip_controls("ab\x08c\n"), "ac\n");
        assert_eq!(strip_controls("\x1b(Bx\x1bPdcs\x1b\\y\x00z"), "xyz");
        assert_eq!(strip_controls("tab\there ünï\n"), "tab\there ünï\n");
    }
}
