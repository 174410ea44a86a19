//! Text typed into the focused input: the `/` filter (searching as you type) or the palette.

use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::state::palette::parse_command;
use crate::tui::state::{Level, Overlay};

fn delete_word(s: &str) -> String {
    let trimmed = s.trim_end();
    match trimmed.rfind(' ') {
        Some(i) => trimmed[..=i].to_owned(),
        None => String::new(),
    }
}

/// The input after an editing action, or `None` if the action does not edit text.
fn edited(input: &str, action: &Action) -> Option<String> {
    Some(match action {
        Action::InsertChar(c) if !c.is_control() => format!("{input}{c}"),
        Action::InsertText(t) => {
            let clean: String = t.chars().filter(|c| !c.is_control()).collect();
            format!("{input}{clean}")
        }
        Action::Backspace => {
            let mut s = input.to_owned();
            s.pop();
            s
        }
        Action::DeleteWord => delete_word(input),
        Action::ClearInput => String::new(),
        _ => return None,
    })
}

impl App {
    pub(super) fn input_action(&mut self, action: Action) {
        if matches!(self.state.top_overlay(), Some(Overlay::Palette(_))) {
            self.palette_action(action);
        } else if self.state.fleet.editing {
            self.filter_action(action);
        }
    }

    fn filter_action(&mut self, action: Action) {
        let f = &mut self.state.fleet;
        match action {
            Action::InputAccept => f.editing = false,
            Action::InputCancel => {
                f.editing = false;
                if !f.input.is_empty() {
                    f.set_input(String::new());
                }
            }
            other => {
                if let Some(input) = edited(&f.input, &other)
                    && input != f.input
                {
                    f.set_input(input);
                }
            }
        }
    }

    fn palette_action(&mut self, action: Action) {
        let ctx = self.state.palette_context.clone();
        let Some(p) = self.state.palette_mut() else {
            return;
        };
        match action {
            Action::InputCancel => {
                self.state.overlays.pop();
            }
            Action::PaletteComplete => p.complete(&ctx),
            Action::PaletteNext => p.select_next(),
            Action::PalettePrev => p.select_prev(),
            Action::InputAccept => {
                // Enter on a highlighted suggestion takes it first.
                if p.selected.is_some() {
                    p.complete(&ctx);
                }
                let line = p.input.clone();
                self.state.overlays.pop();
                match parse_command(&line) {
                    Ok(action) => self.update(action),
                    Err(e) => self.state.flash(Level::Error, e),
                }
            }
            other => {
                if let Some(input) = edited(&p.input, &other) {
                    p.set_input(input, &ctx);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editing() {
        assert_eq!(
            edited("pay", &Action::InsertChar('x')).as_deref(),
            Some("payx")
        );
        assert_eq!(edited("pay", &Action::Backspace).as_deref(), Some("pa"));
        assert_eq!(
            edited("pay api", &Action::DeleteWord).as_deref(),
            Some("pay ")
        );
        assert_eq!(
            edited("pay", &Action::InsertText("a\nb".into())).as_deref(),
            Some("payab")
        );
        assert_eq!(edited("pay", &Action::Quit), None);
    }
}
