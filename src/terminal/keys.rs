//! Keys typed into a terminal tab, as the bytes an xterm would send to the remote shell.
//! Everything goes through verbatim (Ctrl-C is 0x03); the console keeps one escape chord for
//! itself, which the TUI filters out before calling [`encode_key`].

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// How the remote terminal asked keys to be sent (from the tab's emulated screen).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyModes {
    /// DECCKM: arrows, Home and End as `ESC O x` instead of `ESC [ x`.
    pub application_cursor: bool,
}

/// xterm's modifier parameter: 1 + Shift(1) + Alt(2) + Ctrl(4).
fn modifier_param(mods: KeyModifiers) -> u8 {
    let mut n = 1;
    if mods.contains(KeyModifiers::SHIFT) {
        n += 1;
    }
    if mods.contains(KeyModifiers::ALT) {
        n += 2;
    }
    if mods.contains(KeyModifiers::CONTROL) {
        n += 4;
    }
    n
}

/// `ESC [ x` / `ESC O x`, or `ESC [ 1 ; m x` with modifiers.
fn cursor_key(letter: char, mods: KeyModifiers, app: bool) -> Vec<u8> {
    let m = modifier_param(mods);
    if m > 1 {
        format!("\x1b[1;{m}{letter}").into_bytes()
    } else if app {
        format!("\x1bO{letter}").into_bytes()
    } else {
        format!("\x1b[{letter}").into_bytes()
    }
}

/// `ESC [ n ~`, or `ESC [ n ; m ~` with modifiers.
fn tilde_key(n: u8, mods: KeyModifiers) -> Vec<u8> {
    let m = modifier_param(mods);
    if m > 1 {
        format!("\x1b[{n};{m}~").into_bytes()
    } else {
        format!("\x1b[{n}~").into_bytes()
    }
}

/// The control byte of Ctrl + `c`, if there is one.
fn control_byte(c: char) -> Option<u8> {
    match c {
        'a'..='z' => Some(c as u8 - b'a' + 1),
        'A'..='Z' => Some(c as u8 - b'A' + 1),
        '@' | ' ' | '2' => Some(0),
        '[' | '3' => Some(0x1b),
        '\\' | '4' => Some(0x1c),
        ']' | '5' => Some(0x1d),
        '^' | '6' => Some(0x1e),
        '_' | '-' | '7' => Some(0x1f),
        '?' | '8' => Some(0x7f),
        _ => None,
    }
}

/// The bytes for one key press, or `None` for keys a terminal does not send (media keys,
/// lone modifiers).
pub fn encode_key(key: &KeyEvent, modes: KeyModes) -> Option<Vec<u8>> {
    let mods = key.modifiers;
    let alt = mods.contains(KeyModifiers::ALT);
    let app = modes.application_cursor;
    let plain = |bytes: Vec<u8>| {
        if alt {
            let mut out = vec![0x1b];
            out.extend(bytes);
            out
        } else {
            bytes
        }
    };
    let bytes = match key.code {
        KeyCode::Char(c) if mods.contains(KeyModifiers::CONTROL) => plain(vec![control_byte(c)?]),
        KeyCode::Char(c) => plain(c.to_string().into_bytes()),
        KeyCode::Enter => plain(b"\r".to_vec()),
        KeyCode::Tab => plain(b"\t".to_vec()),
        KeyCode::BackTab => b"\x1b[Z".to_vec(),
        KeyCode::Backspace if mods.contains(KeyModifiers::CONTROL) => plain(vec![0x08]),
        KeyCode::Backspace => plain(vec![0x7f]),
        KeyCode::Esc => plain(vec![0x1b]),
        KeyCode::Up => cursor_key('A', mods, app),
        KeyCode::Down => cursor_key('B', mods, app),
        KeyCode::Right => cursor_key('C', mods, app),
        KeyCode::Left => cursor_key('D', mods, app),
        KeyCode::Home => cursor_key('H', mods, app),
        KeyCode::End => cursor_key('F', mods, app),
        KeyCode::Insert => tilde_key(2, mods),
        KeyCode::Delete => tilde_key(3, mods),
        KeyCode::PageUp => tilde_key(5, mods),
        KeyCode::PageDown => tilde_key(6, mods),
        KeyCode::F(n @ 1..=4) => {
            let letter = (b'P' + n - 1) as char;
            let m = modifier_param(mods);
            if m > 1 {
                format!("\x1b[1;{m}{letter}").into_bytes()
            } else {
                format!("\x1bO{letter}").into_bytes()
            }
        }
        KeyCode::F(n @ 5..=12) => {
            let code = [15, 17, 18, 19, 20, 21, 23, 24][usize::from(n - 5)];
            tilde_key(code, mods)
        }
        _ => return None,
    };
    Some(bytes)
}

/// Pasted text: wrapped in `ESC [200~ … ESC [201~` when the remote turned bracketed paste on
/// (the end marker is removed from the text so it cannot end the paste early); newlines as
/// Enter (`\r`) either way, as terminals send them.
pub fn encode_paste(text: &str, bracketed: bool) -> Vec<u8> {
    let body = text.replace("\r\n", "\r").replace('\n', "\r");
    if bracketed {
        let body = body.replace("\x1b[201~", "");
        format!("\x1b[200~{body}\x1b[201~").into_bytes()
    } else {
        body.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode, mods: KeyModifiers) -> Vec<u8> {
        encode_key(&KeyEvent::new(code, mods), KeyModes::default()).expect("a key with bytes")
    }

    #[test]
    fn key_table() {
        use KeyCode::*;
        let none = KeyModifiers::NONE;
        let ctrl = KeyModifiers::CONTROL;
        let alt = KeyModifiers::ALT;
        let shift = KeyModifiers::SHIFT;
        let table: &[(KeyCode, KeyModifiers, &[u8])] = &[
            (Char('a'), none, b"a"),
            (Char('Q'), shift, b"Q"),
            (Char('é'), none, "é".as_bytes()),
            (Enter, none, b"\r"),
            (Backspace, none, b"\x7f"),
            (Tab, none, b"\t"),
            (BackTab, shift, b"\x1b[Z"),
            (Esc, none, b"\x1b"),
            (Char('c'), ctrl, b"\x03"),
            (Char('d'), ctrl, b"\x04"),
            (Char('a'), ctrl, b"\x01"),
            (Char('z'), ctrl, b"\x1a"),
            (Char(' '), ctrl, b"\x00"),
            (Char(']'), ctrl, b"\x1d"),
            (Char('5'), ctrl, b"\x1d"),
            (Char('\\'), ctrl, b"\x1c"),
            (Up, none, b"\x1b[A"),
            (Down, none, b"\x1b[B"),
            (Right, none, b"\x1b[C"),
            (Left, none, b"\x1b[D"),
            (Home, none, b"\x1b[H"),
            (End, none, b"\x1b[F"),
            (Right, ctrl, b"\x1b[1;5C"),
            (PageUp, none, b"\x1b[5~"),
            (PageDown, none, b"\x1b[6~"),
            (Delete, none, b"\x1b[3~"),
            (Insert, none, b"\x1b[2~"),
            (F(1), none, b"\x1bOP"),
            (F(4), none, b"\x1bOS"),
            (F(5), none, b"\x1b[15~"),
            (F(6), none, b"\x1b[17~"),
            (F(10), none, b"\x1b[21~"),
            (F(11), none, b"\x1b[23~"),
            (F(12), none, b"\x1b[24~"),
            (Char('x'), alt, b"\x1bx"),
            (Char('b'), alt, b"\x1bb"),
            (Char('c'), ctrl | alt, b"\x1b\x03"),
            (Backspace, alt, b"\x1b\x7f"),
        ];
        for (code, mods, want) in table {
            assert_eq!(
                k(*code, *mods),
                want.to_vec(),
                "{code:?} with {mods:?}: got {:?}, want {:?}",
                String::from_utf8_lossy(&k(*code, *mods)),
                String::from_utf8_lossy(want)
            );
        }
    }

    #[test]
    fn application_cursor_mode() {
        let app = KeyModes {
            application_cursor: true,
        };
        let up = KeyEvent::new(KeyCode::Up, KeyModifiers::NONE);
        assert_eq!(encode_key(&up, app).as_deref(), Some(&b"\x1bOA"[..]));
        let end = KeyEvent::new(KeyCode::End, KeyModifiers::NONE);
        assert_eq!(encode_key(&end, app).as_deref(), Some(&b"\x1bOF"[..]));
    }

    #[test]
    fn keys_without_bytes() {
        let media = KeyEvent::new(KeyCode::CapsLock, KeyModifiers::NONE);
        assert_eq!(encode_key(&media, KeyModes::default()), None);
    }

    #[test]
    fn paste() {
        assert_eq!(encode_paste("ls\nwho", false), b"ls\rwho".to_vec());
        assert_eq!(
            encode_paste("a\r\nb", true),
            b"\x1b[200~a\rb\x1b[201~".to_vec()
        );
        assert_eq!(
            encode_paste("x\x1b[201~y", true),
            b"\x1b[200~xy\x1b[201~".to_vec(),
            "an end marker inside the text cannot end the paste"
        );
    }
}
