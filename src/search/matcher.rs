//! Fuzzy matching of the fleet with nucleo (measured ~5x faster than fuzzy-matcher here, see
//! docs/performance.md). Haystacks are converted once per inventory, not per keystroke.

use nucleo_matcher::pattern::{AtomKind, CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str, Utf32String};

use super::Query;
use crate::model::Instance;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// Index into the instance slice the index was built from.
    pub index: usize,
    pub score: u32,
}

/// Pre-converted search text for every instance of one inventory snapshot.
pub struct FleetIndex {
    haystacks: Vec<Utf32String>,
    /// One matcher per worker thread (a matcher holds scratch memory and is not shared).
    matchers: Vec<Matcher>,
}

/// From this many candidates a search is split across the machine's cores (below it, starting
/// threads costs more than it saves). See docs/performance.md.
const PARALLEL_MIN: usize = 16_384;

/// From this many candidates, fuzzy terms are scored with nucleo's greedy matcher: the same
/// hits, ranked a little less exactly, several times faster on long haystacks. A growing query
/// narrows the candidates and gets exact scores again. See docs/performance.md.
const GREEDY_MIN: usize = 50_000;

/// A pattern's score with greedy fuzzy matching (ASCII fuzzy terms; others as nucleo scores them).
fn score_greedy(pattern: &Pattern, haystack: Utf32Str<'_>, matcher: &mut Matcher) -> Option<u32> {
    let mut total = 0u32;
    for atom in &pattern.atoms {
        let score = match atom.needle_text() {
            needle @ Utf32Str::Ascii(_) if atom.kind == AtomKind::Fuzzy && !atom.negative => {
                // What `Atom::score` sets for an ASCII needle parsed with
                // CaseMatching::Ignore and Normalization::Smart.
                matcher.config.ignore_case = true;
                matcher.config.normalize = true;
                matcher.fuzzy_match_greedy(haystack, needle)?
            }
            _ => atom.score(haystack, matcher)?,
        };
        total += u32::from(score);
    }
    Some(total)
}

fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}

/// The text the fuzzy part of a query runs over: what an operator remembers about a host.
pub fn haystack_text(i: &Instance) -> String {
    let mut text = String::with_capacity(96);
    for part in [
        i.name.as_deref(),
        Some(i.instance_id.as_str()),
        i.private_ip.as_deref(),
        i.public_ip.as_deref(),
    ]
    .into_iter()
    .flatten()
    {
        text.push_str(part);
        text.push(' ');
    }
    for (key, value) in &i.tags {
        if key != "Name" {
            text.push_str(value);
            text.push(' ');
        }
    }
    text
}

impl FleetIndex {
    pub fn new(instances: &[Instance]) -> Self {
        FleetIndex {
            haystacks: instances
                .iter()
                .map(|i| Utf32String::from(haystack_text(i)))
                .collect(),
            matchers: vec![Matcher::new(Config::DEFAULT)],
        }
    }

    pub fn len(&self) -> usize {
        self.haystacks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.haystacks.is_empty()
    }

    /// Every instance the query accepts, best first; ties keep inventory order.
    pub fn search(&mut self, instances: &[Instance], query: &Query) -> Vec<Hit> {
        self.search_within(instances, query, 0..instances.len())
    }

    /// Like `search`, over a subset: when a query only grows, the previous hits are enough.
    /// Large candidate sets are matched on every core.
    pub fn search_within(
        &mut self,
        instances: &[Instance],
        query: &Query,
        candidates: impl IntoIterator<Item = usize>,
    ) -> Vec<Hit> {
        let pattern = (!query.text.is_empty())
            .then(|| Pattern::parse(&query.text, CaseMatching::Ignore, Normalization::Smart));
        let candidates: Vec<usize> = candidates.into_iter().collect();
        let threads = if candidates.len() >= PARALLEL_MIN {
            workers()
        } else {
            1
        };
        while self.matchers.len() < threads {
            self.matchers.push(Matcher::new(Config::DEFAULT));
        }
        let haystacks = &self.haystacks;
        let pattern_ref = pattern.as_ref();
        let greedy = candidates.len() >= GREEDY_MIN;
        let scan = |part: &[usize], matcher: &mut Matcher| -> Vec<Hit> {
            part.iter()
                .filter(|&&index| query.accepts(&instances[index]))
                .filter_map(|&index| {
                    let score = match pattern_ref {
                        Some(p) if greedy => score_greedy(p, haystacks[index].slice(..), matcher)?,
                        Some(p) => p.score(haystacks[index].slice(..), matcher)?,
                        None => 0,
                    };
                    Some(Hit { index, score })
                })
                .collect()
        };
        let mut hits: Vec<Hit> = if threads <= 1 {
            scan(&candidates, &mut self.matchers[0])
        } else {
            let chunk = candidates.len().div_ceil(threads);
            std::thread::scope(|scope| {
                let running: Vec<_> = candidates
                    .chunks(chunk)
                    .zip(self.matchers.iter_mut())
                    .map(|(part, matcher)| scope.spawn(move || scan(part, matcher)))
                    .collect();
                running
                    .into_iter()
                    .flat_map(|t| t.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            })
        };
        if pattern.is_some() {
            // (score, index) is a total order: the unstable sort gives the same result, faster.
            hits.sort_unstable_by(|a, b| b.score.cmp(&a.score).then(a.index.cmp(&b.index)));
        }
        hits
    }

    /// Character positions in `text` that the query's fuzzy part matches, for highlighting.
    pub fn highlight(&mut self, query: &Query, text: &str) -> Vec<u32> {
        if query.text.is_empty() {
            return Vec::new();
        }
        let pattern = Pattern::parse(&query.text, CaseMatching::Ignore, Normalization::Smart);
        let haystack = Utf32String::from(text);
        let mut indices = Vec::new();
        // Each term is matched on its own so that a name shows the terms it holds even when
        // another term matched elsewhere (an IP, a tag).
        for atom in &pattern.atoms {
            let _ = atom.indices(haystack.slice(..), &mut self.matchers[0], &mut indices);
        }
        indices.sort_unstable();
        indices.dedup();
        indices
    }
}

/// Marks the characters a query's fuzzy part matches in display text, one row at a time.
/// Owns its matcher, so a view can highlight without borrowing the index mutably.
pub struct Highlighter {
    pattern: Option<Pattern>,
    matcher: Matcher,
    indices: Vec<u32>,
}

impl Highlighter {
    pub fn new(query: &Query) -> Self {
        Highlighter {
            pattern: (!query.text.is_empty())
                .then(|| Pattern::parse(&query.text, CaseMatching::Ignore, Normalization::Smart)),
            matcher: Matcher::new(Config::DEFAULT),
            indices: Vec::new(),
        }
    }

    /// Sorted, deduplicated character positions of `text` to highlight (empty without fuzzy text).
    pub fn positions(&mut self, text: &str) -> Vec<u32> {
        let Some(pattern) = &self.pattern else {
            return Vec::new();
        };
        let mut buf = Vec::new();
        let haystack = nucleo_matcher::Utf32Str::new(text, &mut buf);
        self.indices.clear();
        // Each term on its own, so a name shows the terms it holds even when another term
        // matched elsewhere (an IP, a tag).
        for atom in &pattern.atoms {
            let _ = atom.indices(haystack, &mut self.matcher, &mut self.indices);
        }
        self.indices.sort_unstable();
        self.indices.dedup();
        self.indices.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{InstanceState, PingStatus, PlatformType};

    fn host(id: &str, name: &str, env: &str, ping: PingStatus) -> Instance {
        Instance {
            instance_id: id.into(),
            name: Some(name.into()),
            profile: "default".into(),
            region: "us-east-1".into(),
            state: InstanceState::Running,
            ping_status: ping,
            last_ping: None,
            agent_version: Some("3.3.987.0".into()),
            agent_is_latest: Some(true),
            platform_type: PlatformType::Linux,
            platform: "Amazon Linux 2023".into(),
            private_ip: Some("10.0.1.7".into()),
            public_ip: None,
            instance_type: Some("t3.small".into()),
            availability_zone: None,
            iam_instance_profile: None,
            computer_name: None,
            launch_time: None,
            tags: [
                ("Name".to_string(), name.to_string()),
                ("Env".into(), env.into()),
            ]
            .into(),
            managed: true,
        }
    }

    #[test]
    fn fuzzy_text_and_filters_combine() {
        let fleet = vec![
            host("i-01", "pay-api-prod-1", "prod", PingStatus::Online),
            host("i-02", "pay-api-prod-2", "prod", PingStatus::ConnectionLost),
            host("i-03", "web-staging-1", "staging", PingStatus::Online),
        ];
        let mut index = FleetIndex::new(&fleet);
        let q = Query::parse("pay ping:lost").expect("valid");
        let hits = index.search(&fleet, &q);
        assert_eq!(hits.iter().map(|h| h.index).collect::<Vec<_>>(), [1]);

        let q = Query::parse("papi").expect("valid");
        assert_eq!(index.search(&fleet, &q).len(), 2);

        let q = Query::parse("tag:env=staging").expect("valid");
        assert_eq!(index.search(&fleet, &q)[0].index, 2);
    }

    #[test]
    fn parallel_search_equals_one_thread() {
        let fleet: Vec<Instance> = (0..(PARALLEL_MIN * 2 + 7))
            .map(|n| {
                let ping = if n % 3 == 0 {
                    PingStatus::ConnectionLost
                } else {
                    PingStatus::Online
                };
                host(
                    &format!("i-{n:06}"),
                    &format!("pay-{}-{n}", ["api", "db", "web"][n % 3]),
                    "prod",
                    ping,
                )
            })
            .collect();
        let mut index = FleetIndex::new(&fleet);
        for text in ["pay db", "p", "ping:lost web", "i-0001"] {
            let q = Query::parse(text).expect("valid");
            let parallel = index.search(&fleet, &q);
            // Below the threshold: one thread, in chunks, merged and ranked the same way.
            let mut single: Vec<Hit> = (0..fleet.len())
                .collect::<Vec<_>>()
                .chunks(PARALLEL_MIN - 1)
                .flat_map(|c| index.search_within(&fleet, &q, c.iter().copied()))
                .collect();
            if !q.text.is_empty() {
                single.sort_by(|a, b| b.score.cmp(&a.score).then(a.index.cmp(&b.index)));
            }
            assert_eq!(parallel, single, "{text}");
        }
    }

    #[test]
    fn greedy_scoring_finds_the_same_hits() {
        let fleet: Vec<Instance> = (0..GREEDY_MIN + 10)
            .map(|n| {
                host(
                    &format!("i-{n:06}"),
                    &format!("pay-{}-{n}", ["api", "db", "web"][n % 3]),
                    "prod",
                    PingStatus::Online,
                )
            })
            .collect();
        let mut index = FleetIndex::new(&fleet);
        for text in ["pa", "pay db", "^pay", "web 77"] {
            let q = Query::parse(text).expect("valid");
            let mut greedy: Vec<usize> = index.search(&fleet, &q).iter().map(|h| h.index).collect();
            let mut exact: Vec<usize> = (0..fleet.len())
                .collect::<Vec<_>>()
                .chunks(GREEDY_MIN - 1)
                .flat_map(|c| index.search_within(&fleet, &q, c.iter().copied()))
                .map(|h| h.index)
                .collect();
            greedy.sort_unstable();
            exact.sort_unstable();
            assert_eq!(greedy, exact, "{text}");
        }
    }

    #[test]
    fn highlight_marks_matched_name_characters() {
        let fleet = vec![host("i-01", "pay-api", "prod", PingStatus::Online)];
        let mut index = FleetIndex::new(&fleet);
        let q = Query::parse("pai").expect("valid");
        assert_eq!(index.highlight(&q, "pay-api"), vec![0, 1, 6]);
        assert_eq!(Highlighter::new(&q).positions("pay-api"), vec![0, 1, 6]);
        let none = Query::parse("ping:lost").expect("valid");
        assert!(Highlighter::new(&none).positions("pay-api").is_empty());
    }
}
