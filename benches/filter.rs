//! Filtering 100,000 instances per keystroke, the way the console does it, with fuzzy-matcher's
//! SkimMatcherV2 over the same text as the reference. Run: `cargo bench --bench filter`.
//! Figures and the machine they came from: docs/performance.md.

use std::collections::BTreeMap;

use divan::{Bencher, black_box};
use fleetdeck::model::{Instance, InstanceState, PingStatus, PlatformType};
use fleetdeck::search::{FleetIndex, Query, haystack_text};
use fleetdeck::tui::state::FleetState;
use fuzzy_matcher::FuzzyMatcher;
use fuzzy_matcher::skim::SkimMatcherV2;

const N: usize = 100_000;

fn main() {
    divan::main();
}

/// A deterministic fleet shaped like a real one: service-role-env-n names, tags, IPs.
fn fleet(n: usize) -> Vec<Instance> {
    const SERVICES: [&str; 12] = [
        "pay", "payments", "auth", "orders", "search", "media", "web", "api", "billing", "ledger",
        "mail", "batch",
    ];
    const ROLES: [&str; 6] = ["api", "worker", "db", "cache", "queue", "web"];
    const ENVS: [&str; 3] = ["prod", "staging", "dev"];
    const TEAMS: [&str; 5] = ["core", "growth", "platform", "risk", "data"];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..n)
        .map(|i| {
            let r = next();
            let service = SERVICES[(r % 12) as usize];
            let role = ROLES[((r >> 8) % 6) as usize];
            let env = ENVS[((r >> 16) % 3) as usize];
            let name = format!("{service}-{role}-{env}-{}", i % 97 + 1);
            let mut tags = BTreeMap::new();
            tags.insert("Name".to_owned(), name.clone());
            tags.insert("Env".to_owned(), env.to_owned());
            tags.insert("Role".to_owned(), role.to_owned());
            tags.insert(
                "Team".to_owned(),
                TEAMS[((r >> 24) % 5) as usize].to_owned(),
            );
            Instance {
                instance_id: format!("i-0{:016x}", next() >> 4),
                name: Some(name),
                profile: "default".into(),
                region: if r & 1 == 0 { "us-east-1" } else { "eu-west-1" }.into(),
                state: InstanceState::Running,
                ping_status: if r % 10 == 0 {
                    PingStatus::ConnectionLost
                } else {
                    PingStatus::Online
                },
                last_ping: None,
                agent_version: Some("3.3.987.0".into()),
                agent_is_latest: Some(true),
                platform_type: PlatformType::Linux,
                platform: "Amazon Linux 2023".into(),
                private_ip: Some(format!(
                    "10.{}.{}.{}",
                    (r >> 32) % 256,
                    (r >> 40) % 256,
                    (r >> 48) % 256
                )),
                public_ip: None,
                instance_type: None,
                availability_zone: None,
                iam_instance_profile: None,
                computer_name: None,
                launch_time: None,
                tags,
                managed: true,
            }
        })
        .collect()
}

/// Queries of measured.md plus single keystrokes (the widest, hardest case).
const QUERIES: [&str; 6] = ["p", "pay", "pw42", "paymnt prod", "i-0a1b", "pay ping:lost"];

/// Converting the inventory into haystacks: once per refresh, not per keystroke.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn index_build(bencher: Bencher) {
    let instances = fleet(N);
    bencher.bench_local(|| FleetIndex::new(black_box(&instances)));
}

/// One keystroke that cannot reuse the previous hits: every instance is matched and ranked.
#[divan::bench(args = QUERIES, sample_count = 10, sample_size = 1)]
fn nucleo_fresh(bencher: Bencher, query: &str) {
    let instances = fleet(N);
    let mut index = FleetIndex::new(&instances);
    let q = Query::parse(query).expect("valid query");
    bencher.bench_local(|| index.search(&instances, black_box(&q)).len());
}

/// The reference: fuzzy-matcher's SkimMatcherV2 over the same text, ranked the same way.
#[divan::bench(args = QUERIES, sample_count = 10, sample_size = 1)]
fn skim_fresh(bencher: Bencher, query: &str) {
    let instances = fleet(N);
    let haystacks: Vec<String> = instances.iter().map(haystack_text).collect();
    let q = Query::parse(query).expect("valid query");
    let matcher = SkimMatcherV2::default().ignore_case();
    bencher.bench_local(|| {
        let mut hits: Vec<(usize, i64)> = haystacks
            .iter()
            .enumerate()
            .filter(|(i, _)| q.accepts(&instances[*i]))
            .filter_map(|(i, h)| {
                if q.text.is_empty() {
                    return Some((i, 0));
                }
                // All words must match, as in the console.
                let mut total = 0;
                for word in q.text.split(' ') {
                    total += matcher.fuzzy_match(h, word)?;
                }
                Some((i, total))
            })
            .collect();
        hits.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        hits.len()
    });
}

/// The console's own path for one keystroke (`FleetState::set_input`: parse, search within the
/// previous hits when the query only grew, order rows, keep the selection), for each step of
/// typing "payments-db" into an empty filter. The setup (previous keystrokes) is not timed.
#[divan::bench(args = [1, 2, 3, 5, 8, 11], sample_count = 10, sample_size = 1)]
fn console_keystroke(bencher: Bencher, typed: usize) {
    let text = "payments-db";
    let instances = fleet(N);
    bencher
        .with_inputs(|| {
            let mut state = FleetState::new(instances.clone());
            state.set_input(text[..typed - 1].to_owned());
            state
        })
        .bench_local_refs(|state| {
            state.set_input(text[..typed].to_owned());
            state.rows().len()
        });
}

/// The same keystrokes if every one searched the whole fleet (no narrowing).
#[divan::bench(args = [1, 2, 3, 5, 8, 11], sample_count = 10, sample_size = 1)]
fn console_keystroke_without_narrowing(bencher: Bencher, typed: usize) {
    let text = "payments-db";
    let instances = fleet(N);
    let mut index = FleetIndex::new(&instances);
    let q = Query::parse(&text[..typed]).expect("valid query");
    bencher.bench_local(|| index.search(&instances, black_box(&q)).len());
}

/// nucleo alone: the score loop over pre-converted haystacks, no filters, no ranking.
#[divan::bench(args = QUERIES, sample_count = 10, sample_size = 1)]
fn nucleo_raw(bencher: Bencher, query: &str) {
    use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
    use nucleo_matcher::{Config, Matcher, Utf32String};
    let instances = fleet(N);
    let haystacks: Vec<Utf32String> = instances
        .iter()
        .map(|i| Utf32String::from(haystack_text(i)))
        .collect();
    let mut matcher = Matcher::new(Config::DEFAULT);
    let pattern = Pattern::parse(query, CaseMatching::Ignore, Normalization::Smart);
    bencher.bench_local(|| {
        haystacks
            .iter()
            .filter(|h| pattern.score(h.slice(..), &mut matcher).is_some())
            .count()
    });
}
