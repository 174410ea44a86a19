//! Fault injection (`--faults SPEC`): which failures and delays the simulator adds to requests.
//!
//! Syntax: comma-separated `key=value` pairs, e.g. `throttle=0.5,latency=20ms` or
//! `latency=10ms..50ms`. An empty spec or `none` means no faults. Data-channel faults:
//! `ws-drop=2s` (the gateway drops each WebSocket after it has been up that long) and
//! `frame-loss=0.01`, `frame-dup=0.01`, `frame-reorder=0.01` (per agent → client frame).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rand::Rng;

/// Keys people may expect here but that work another way; naming them gives a clearer error than
/// a typo would. Agents go ConnectionLost on request, not at a rate: `POST
/// /_sim/agents/<id>/connection-lost` (docs/simulator.md).
const PLANNED_KEYS: &[&str] = &["lost-agents"];
const KNOWN_KEYS: &str =
    "throttle, latency, ws-drop, frame-loss, frame-dup, frame-reorder, idle-timeout";

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FaultSpec {
    /// Probability (0.0–1.0) that an AWS API request is answered with the service's throttling error.
    pub throttle: f64,
    /// Added delay per AWS API request, uniformly drawn from the inclusive range.
    pub latency: Option<(Duration, Duration)>,
    /// The gateway drops each data-channel WebSocket after it has been up this long.
    pub ws_drop: Option<Duration>,
    /// Probabilities applied by the gateway to each agent → client frame: not sent, sent twice,
    /// sent after the next one.
    pub frame_loss: f64,
    pub frame_dup: f64,
    pub frame_reorder: f64,
    /// Port sessions with no data either way for this long are ended by the service, as
    /// Session Manager's idle session timeout does (keepalive pings are not data).
    pub idle_timeout: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid fault spec part '{part}': {reason}")]
pub struct FaultSpecError {
    pub part: String,
    pub reason: String,
}

impl FaultSpec {
    pub fn is_none(&self) -> bool {
        self.throttle <= 0.0
            && self.latency.is_none()
            && self.ws_drop.is_none()
            && self.frame_loss <= 0.0
            && self.frame_dup <= 0.0
            && self.frame_reorder <= 0.0
            && self.idle_timeout.is_none()
    }

    pub(crate) fn roll(p: f64, rng: &mut impl Rng) -> bool {
        p > 0.0 && rng.random::<f64>() < p
    }

    pub(crate) fn roll_throttle(&self, rng: &mut impl Rng) -> bool {
        self.throttle > 0.0 && rng.random::<f64>() < self.throttle
    }

    pub(crate) fn draw_latency(&self, rng: &mut impl Rng) -> Duration {
        match self.latency {
            None => Duration::ZERO,
            Some((lo, hi)) if lo >= hi => lo,
            Some((lo, hi)) => rng.random_range(lo..=hi),
        }
    }
}

fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => text.split_at(i),
        None => return None,
    };
    let value: f64 = number.parse().ok()?;
    let secs = match unit {
        "us" => value / 1_000_000.0,
        "ms" => value / 1_000.0,
        "s" => value,
        _ => return None,
    };
    (0.0..=3600.0)
        .contains(&secs)
        .then(|| Duration::from_secs_f64(secs))
}

impl FromStr for FaultSpec {
    type Err = FaultSpecError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let mut out = FaultSpec::default();
        let spec = spec.trim();
        if spec.is_empty() || spec == "none" {
            return Ok(out);
        }
        for part in spec.split(',').map(str::trim) {
            let err = |reason: String| FaultSpecError {
                part: part.to_string(),
                reason,
            };
            let Some((key, value)) = part.split_once('=') else {
                return Err(err("expected key=value".into()));
            };
            let (key, value) = (key.trim(), value.trim());
            match key {
                "throttle" => {
                    let p: f64 = value
                        .parse()
                        .map_err(|_| err(format!("'{value}' is not a number")))?;
                    if !(0.0..=1.0).contains(&p) {
                        return Err(err("throttle is a probability between 0 and 1".into()));
                    }
                    out.throttle = p;
                }
                "latency" => {
                    let bad = || {
                        err(format!(
                            "'{value}' is not a duration like 20ms or 10ms..50ms"
                        ))
                    };
                    let (lo, hi) = match value.split_once("..") {
                        Some((lo, hi)) => (
                            parse_duration(lo).ok_or_else(bad)?,
                            parse_duration(hi).ok_or_else(bad)?,
                        ),
                        None => {
                            let d = parse_duration(value).ok_or_else(bad)?;
                            (d, d)
                        }
                    };
                    if lo > hi {
                        return Err(err("latency range must go from low to high".into()));
                    }
                    out.latency = Some((lo, hi));
                }
                "ws-drop" => {
                    let d = parse_duration(value)
                        .filter(|d| !d.is_zero())
                        .ok_or_else(|| err(format!("'{value}' is not a duration like 2s")))?;
                    out.ws_drop = Some(d);
                }
                "idle-timeout" => {
                    let d = parse_duration(value)
                        .filter(|d| !d.is_zero())
                        .ok_or_else(|| err(format!("'{value}' is not a duration like 30s")))?;
                    out.idle_timeout = Some(d);
                }
                "frame-loss" | "frame-dup" | "frame-reorder" => {
                    let p: f64 = value
                        .parse()
                        .map_err(|_| err(format!("'{value}' is not a number")))?;
                    if !(0.0..1.0).contains(&p) {
                        return Err(err(format!(
                            "{key} is a probability from 0 up to (not including) 1"
                        )));
                    }
                    match key {
                        "frame-loss" => out.frame_loss = p,
                        "frame-dup" => out.frame_dup = p,
                        _ => out.frame_reorder = p,
                    }
                }
                k if PLANNED_KEYS.contains(&k) => {
                    return Err(err(format!(
                        "unknown fault key '{k}' (to make an agent ConnectionLost, POST \
                         /_sim/agents/<instance-id>/connection-lost while the simulator runs; \
                         known keys: {KNOWN_KEYS})"
                    )));
                }
                k => {
                    return Err(err(format!(
                        "unknown fault key '{k}' (known: {KNOWN_KEYS})"
                    )));
                }
            }
        }
        Ok(out)
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.throttle > 0.0 {
            parts.push(format!("throttle={}", self.throttle));
        }
        match self.latency {
            Some((lo, hi)) if lo == hi => parts.push(format!("latency={}ms", lo.as_millis())),
            Some((lo, hi)) => parts.push(format!(
                "latency={}ms..{}ms",
                lo.as_millis(),
                hi.as_millis()
            )),
            None => {}
        }
        if let Some(d) = self.ws_drop {
            parts.push(format!("ws-drop={}ms", d.as_millis()));
        }
        if let Some(d) = self.idle_timeout {
            parts.push(format!("idle-timeout={}ms", d.as_millis()));
        }
        for (key, p) in [
            ("frame-loss", self.frame_loss),
            ("frame-dup", self.frame_dup),
            ("frame-reorder", self.frame_reorder),
        ] {
            if p > 0.0 {
                parts.push(format!("{key}={p}"));
            }
        }
        if parts.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&parts.join(","))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn parses_throttle_and_fixed_latency() {
        let s: FaultSpec = "throttle=0.5, latency=20ms".parse().unwrap();
        assert_eq!(s.throttle, 0.5);
        let ms20 = Duration::from_millis(20);
        assert_eq!(s.latency, Some((ms20, ms20)));
        assert_eq!(s.to_string(), "throttle=0.5,latency=20ms");
    }

    #[test]
    fn parses_data_channel_faults() {
        let s: FaultSpec = "ws-drop=2s,frame-loss=0.01,frame-dup=0.02,frame-reorder=0.03"
            .parse()
            .unwrap();
        assert_eq!(s.ws_drop, Some(Duration::from_secs(2)));
        assert_eq!(
            (s.frame_loss, s.frame_dup, s.frame_reorder),
            (0.01, 0.02, 0.03)
        );
        assert!(!s.is_none());
        assert_eq!(
            s.to_string(),
            "ws-drop=2000ms,frame-loss=0.01,frame-dup=0.02,frame-reorder=0.03"
        );
        assert_eq!(s.to_string().parse::<FaultSpec>().unwrap(), s);
    }

    #[test]
    fn parses_the_idle_session_timeout() {
        let s: FaultSpec = "idle-timeout=3s".parse().unwrap();
        assert_eq!(s.idle_timeout, Some(Duration::from_secs(3)));
        assert!(!s.is_none());
        assert_eq!(s.to_string(), "idle-timeout=3000ms");
        assert_eq!(s.to_string().parse::<FaultSpec>().unwrap(), s);
        assert!("idle-timeout=0s".parse::<FaultSpec>().is_err());
    }

    #[test]
    fn parses_latency_range_and_none() {
        let s: FaultSpec = "latency=10ms..1s".parse().unwrap();
        assert_eq!(
            s.latency,
            Some((Duration::from_millis(10), Duration::from_secs(1)))
        );
        assert!("".parse::<FaultSpec>().unwrap().is_none());
        assert!("none".parse::<FaultSpec>().unwrap().is_none());
    }

    #[test]
    fn errors_name_the_bad_part() {
        let e = "throttle=0.2,latency=fast"
            .parse::<FaultSpec>()
            .unwrap_err();
        assert_eq!(e.part, "latency=fast");
        assert!(e.to_string().contains("latency=fast"), "{e}");

        let e = "throttle=2".parse::<FaultSpec>().unwrap_err();
        assert!(e.reason.contains("between 0 and 1"), "{e}");

        let e = "lost-agents=0.1".parse::<FaultSpec>().unwrap_err();
        assert!(e.reason.contains("unknown fault key 'lost-agents'"), "{e}");

        let e = "ws-drop=often".parse::<FaultSpec>().unwrap_err();
        assert!(e.reason.contains("duration"), "{e}");
        let e = "frame-loss=1".parse::<FaultSpec>().unwrap_err();
        assert!(e.reason.contains("probability"), "{e}");

        let e = "bogus=1".parse::<FaultSpec>().unwrap_err();
        assert!(e.reason.contains("unknown fault key 'bogus'"), "{e}");

        let e = "throttle".parse::<FaultSpec>().unwrap_err();
        assert!(e.reason.contains("key=value"), "{e}");

        let e = "latency=50ms..10ms".parse::<FaultSpec>().unwrap_err();
        assert!(e.reason.contains("low to high"), "{e}");
    }

    #[test]
    fn throttle_rate_is_roughly_honoured() {
        let s: FaultSpec = "throttle=0.25".parse().unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        let hits = (0..4000).filter(|_| s.roll_throttle(&mut rng)).count();
        assert!((800..1200).contains(&hits), "{hits}");
        let none = FaultSpec::default();
        assert!(!(0..100).any(|_| none.roll_throttle(&mut rng)));
    }

    #[test]
    fn latency_stays_in_range() {
        let s: FaultSpec = "latency=10ms..20ms".parse().unwrap();
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..100 {
            let d = s.draw_latency(&mut rng);
            assert!(d >= Duration::from_millis(10) && d <= Duration::from_millis(20));
        }
    }
}
