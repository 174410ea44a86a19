//! The run's options as a person types them — `fleetdeck run`'s flags and the console's
//! `:run [OPTIONS] -- COMMAND` line — checked in one place so both front ends accept and refuse
//! exactly the same things, with the same sentences. Pure.

use super::plan::{CloudWatchOutput, Rate, RunOptions};

/// The longest `executionTimeout` AWS-RunShellScript accepts (48 hours).
pub const MAX_TIMEOUT_SECONDS: u32 = 172_800;

/// Options as typed, before they are checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFlags {
    pub max_concurrency: Option<String>,
    pub max_errors: Option<String>,
    pub timeout: Option<String>,
    pub cloudwatch: bool,
    pub cloudwatch_log_group: Option<String>,
    pub comment: Option<String>,
}

impl RunFlags {
    /// The checked options for `commands`; the error names the flag and says what to type.
    pub fn options(&self, commands: Vec<String>) -> Result<RunOptions, String> {
        let rate = |text: &Option<String>, min: u32, flag: &str| -> Result<Option<Rate>, String> {
            text.as_deref()
                .map(|t| Rate::parse(t, min).map_err(|e| format!("{flag}: {e}")))
                .transpose()
        };
        if self.cloudwatch_log_group.is_some() && !self.cloudwatch {
            return Err("--cloudwatch-log-group needs --cloudwatch-output".into());
        }
        Ok(RunOptions {
            commands,
            max_concurrency: rate(&self.max_concurrency, 1, "--max-concurrency")?,
            max_errors: rate(&self.max_errors, 0, "--max-errors")?,
            execution_timeout: self.timeout.as_deref().map(parse_timeout).transpose()?,
            delivery_timeout: None,
            comment: self.comment.clone(),
            cloudwatch: self.cloudwatch.then(|| CloudWatchOutput {
                log_group: self.cloudwatch_log_group.clone(),
            }),
        })
    }
}

/// `--timeout`: whole seconds, 1 to [`MAX_TIMEOUT_SECONDS`].
pub fn parse_timeout(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_TIMEOUT_SECONDS).contains(&n) => Ok(n),
        _ => Err(format!(
            "--timeout: '{text}' is not a number of seconds from 1 to {MAX_TIMEOUT_SECONDS} (e.g. 600)"
        )),
    }
}

/// The console's `:run` line (what follows `:run`): `[--max-concurrency N|N%] [--max-errors
/// N|N%] [--timeout SECS] [--cloudwatch] -- COMMAND`. Without options the whole line is the
/// command, so `:run uptime` keeps working; with options, `--` must separate the command, which
/// is taken verbatim (spaces and quotes kept) as the shell will read it.
pub fn parse_run_line(line: &str) -> Result<RunOptions, String> {
    let line = line.trim();
    let usage = ":run [--max-concurrency N|N%] [--max-errors N|N%] [--timeout SECS] [--cloudwatch] -- COMMAND";
    if !line.starts_with('-') {
        if line.is_empty() {
            return Err(format!(":run needs a command, e.g. :run uptime ({usage})"));
        }
        return RunFlags::default().options(vec![line.to_owned()]);
    }
    let (opts, command) = match line.strip_prefix("-- ") {
        Some(rest) => ("", rest),
        None if line == "--" => ("", ""),
        None => match line.split_once(" -- ") {
            Some((o, c)) => (o, c),
            None if line.ends_with(" --") => (&line[..line.len() - 3], ""),
            None => {
                return Err(format!(
                    "put -- between the options and the command: {usage}"
                ));
            }
        },
    };
    let command = command.trim();
    if command.is_empty() {
        return Err(format!("nothing to run after --: {usage}"));
    }
    let mut flags = RunFlags::default();
    let mut words = opts.split_whitespace();
    while let Some(word) = words.next() {
        let (name, inline) = match word.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (word, None),
        };
        let mut value = |flag: &str| -> Result<String, String> {
            match inline.clone().or_else(|| words.next().map(str::to_owned)) {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(format!("{flag} needs a value: {usage}")),
            }
        };
        match name {
            "--max-concurrency" => flags.max_concurrency = Some(value(name)?),
            "--max-errors" => flags.max_errors = Some(value(name)?),
            "--timeout" => flags.timeout = Some(value(name)?),
            "--cloudwatch" | "--cloudwatch-output" if inline.is_none() => flags.cloudwatch = true,
            other => {
                return Err(format!("unknown option '{other}': {usage}"));
            }
        }
    }
    flags.options(vec![command.to_owned()])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_line_is_the_command() {
        let o = parse_run_line("  df -h /  ").unwrap();
        assert_eq!(o.commands, vec!["df -h /"]);
        assert_eq!(o.max_concurrency, None);
        assert!(
            parse_run_line("   ")
                .unwrap_err()
                .contains("needs a command")
        );
    }

    #[test]
    fn options_before_the_double_dash() {
        let o = parse_run_line(
            "--max-concurrency 25% --max-errors=2 --timeout 90 --cloudwatch -- echo 'a  b' -- c",
        )
        .unwrap();
        assert_eq!(o.max_concurrency, Some(Rate::Percent(25)));
        assert_eq!(o.max_errors, Some(Rate::Count(2)));
        assert_eq!(o.execution_timeout, Some(90));
        assert_eq!(o.cloudwatch, Some(CloudWatchOutput::default()));
        assert_eq!(
            o.commands,
            vec!["echo 'a  b' -- c"],
            "the command is verbatim"
        );
        assert_eq!(
            parse_run_line("-- uptime").unwrap().commands,
            vec!["uptime"]
        );
    }

    #[test]
    fn bad_options_say_what_to_type() {
        let err = |line: &str| parse_run_line(line).unwrap_err();
        assert!(err("--max-concurrency 0 -- uptime").starts_with("--max-concurrency: '0'"));
        assert!(err("--max-errors 101% -- uptime").starts_with("--max-errors:"));
        assert!(err("--timeout soon -- uptime").starts_with("--timeout: 'soon'"));
        assert!(err("--timeout 172801 -- uptime").contains("1 to 172800"));
        assert!(err("--timeout -- uptime").contains("--timeout needs a value"));
        assert!(err("--fast -- uptime").contains("unknown option '--fast'"));
        assert!(err("--timeout 5 uptime").contains("put -- between"));
        assert!(err("--timeout 5 --").contains("nothing to run"));
        assert!(err("--cloudwatch=yes -- uptime").contains("unknown option"));
    }

    #[test]
    fn flags_check_like_the_cli() {
        let f = RunFlags {
            cloudwatch_log_group: Some("g".into()),
            ..RunFlags::default()
        };
        assert!(f.options(vec!["x".into()]).is_err());
        let f = RunFlags {
            max_concurrency: Some("10".into()),
            timeout: Some("600".into()),
            cloudwatch: true,
            cloudwatch_log_group: Some("g".into()),
            ..RunFlags::default()
        };
        let o = f.options(vec!["x".into()]).unwrap();
        assert_eq!(o.max_concurrency, Some(Rate::Count(10)));
        assert_eq!(o.execution_timeout, Some(600));
        assert_eq!(o.cloudwatch.unwrap().log_group.as_deref(), Some("g"));
    }
}
