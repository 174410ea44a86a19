//! `docs/keys.md`, generated from the compiled-in keymap and the palette's commands, so the
//! documentation cannot drift from the keys (a test compares the file with this output).

use super::keymap::{Keymap, Mode, keys_label};
use super::state::palette::PALETTE_COMMANDS;
use super::theme::Role;

pub fn keys_markdown() -> String {
    let keymap = Keymap::builtin();
    let mut out = String::from(
        "# Keys\n\n\
         Generated from `src/tui/keymap.toml` by `cargo test keys_doc` \
         (`UPDATE_DOCS=1 cargo test keys_doc` rewrites it). In the console, `?` shows the same.\n\n\
         Keys are tried in the current mode first, then in **Everywhere**. In the filter and the \
         palette, other printable keys are typed. Override any binding in `config.toml`, binding \
         by binding (a binding with the same keys replaces the default; `run = \"noop\"` unbinds):\n\n\
         ```toml\n[keymap]\nfleet = [\n  { on = \"x\", run = \"sort.next\", desc = \"Sort by the next column\" },\n  { on = [\"g\", \"e\"], run = \"move.bottom\" },\n]\n```\n\n\
         A mistake in an override (unknown key or command) is shown with its file and line when \
         the console starts, and that binding is skipped.\n",
    );
    for mode in Mode::HELP_ORDER {
        out.push_str(&format!(
            "\n## {} (`{}`)\n\n| keys | command | what it does |\n| --- | --- | --- |\n",
            mode.title(),
            mode.as_str()
        ));
        for b in keymap.bindings(mode) {
            out.push_str(&format!(
                "| `{}` | `{}` | {} |\n",
                keys_label(&b.keys),
                b.run,
                b.desc.replace('|', "\\|")
            ));
        }
    }
    out.push_str("\n## Command palette (`:`)\n\nTab completes commands and their arguments.\n\n| command | arguments | what it does |\n| --- | --- | --- |\n");
    for (command, args, desc) in PALETTE_COMMANDS {
        out.push_str(&format!(
            "| `:{command}` | {} | {desc} |\n",
            if args.is_empty() {
                "—".to_owned()
            } else {
                format!("`{args}`")
            }
        ));
    }
    out.push_str("\n## Commands a binding can run\n\n| command | does |\n| --- | --- |\n");
    for (command, desc) in super::action::COMMANDS {
        out.push_str(&format!("| `{command}` | {desc} |\n"));
    }
    out.push_str("\n## Theme roles\n\nThemes (`themes/*.toml`, or `NAME.toml` in a `themes/` folder beside config.toml) set these roles; a role left out takes its parent's style. `[theme.roles]` in config.toml overrides single roles, e.g. `health_lost = { fg = \"magenta\" }`. `NO_COLOR` keeps only bold, underline and reverse.\n\n| role | parent |\n| --- | --- |\n");
    for role in Role::ALL {
        out.push_str(&format!(
            "| `{}` | {} |\n",
            role.as_str(),
            role.parent()
                .map_or("—".to_owned(), |p| format!("`{}`", p.as_str()))
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every binding, palette command and role is documented: docs/keys.md is this output.
    #[test]
    fn keys_doc_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/keys.md");
        let expected = keys_markdown();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(&path, &expected).expect("write docs/keys.md");
        }
        let actual = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            actual == expected,
            "docs/keys.md is out of date with src/tui/keymap.toml: run `UPDATE_DOCS=1 cargo test keys_doc`"
        );
    }
}
