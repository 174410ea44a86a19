//! Property-based fuzzing of every parser that reads bytes or text fleetdeck does not control:
//! the SSM message codec and its payloads, smux framing, the session-log parsers, the query
//! language and the config files. Each property says "never panics, errors instead" or
//! "round-trips"; a panic here is a bug to fix in the parser, with a regression test below.
//!
//! The budget is `PROPTEST_CASES` cases per property (128 by default: see [`budget`]). A longer
//! run, as documented in docs/security.md:
//!
//! ```text
//! PROPTEST_CASES=200000 cargo test --release --test fuzz
//! ```

use std::path::Path;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use uuid::Uuid;

use fleetdeck::channel::message::{ClientMessage, PAYLOAD_OFFSET, PayloadType, types};
use fleetdeck::channel::payloads::{
    Acknowledge, ChannelClosed, HandshakeComplete, HandshakeRequest, HandshakeResponse, Size,
};
use fleetdeck::channel::reliable::{Reliable, Role};
use fleetdeck::channel::smux::{Cmd, Decoder, Frame};
use fleetdeck::config::{Config, ConfigError, line_and_column};
use fleetdeck::model::{Instance, InstanceState, PingStatus, PlatformType};
use fleetdeck::replay::{LogEvent, LogFormat, Timeline, TimelineBuilder, strip_controls};
use fleetdeck::search::{FleetIndex, Highlighter, Query};

/// Cases per property: `PROPTEST_CASES`, else 128 (the whole file in well under a minute in a
/// debug build on 2 cores). Failures are reported with their minimal input and kept as named
/// regression tests, not as files beside the source.
fn budget() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// The SSM message codec (src/channel/message.rs) and its JSON payloads (src/channel/payloads.rs)

fn any_payload_type() -> impl Strategy<Value = PayloadType> {
    any::<u32>().prop_map(PayloadType::from_code)
}

/// Messages that `encode` can represent: a type of 1–32 bytes without padding, a non-zero date
/// (the decoder rejects 0 for all but flow-control messages).
fn valid_message() -> impl Strategy<Value = ClientMessage> {
    (
        "[a-z_]{1,32}",
        any::<u32>(),
        1..=u64::MAX,
        any::<i64>(),
        any::<u64>(),
        any::<u128>(),
        any_payload_type(),
        prop::collection::vec(any::<u8>(), 0..2048),
    )
        .prop_map(
            |(kind, schema, date, seq, flags, id, ptype, payload)| ClientMessage {
                message_type: kind,
                schema_version: schema,
                created_date: date,
                sequence_number: seq,
                flags,
                message_id: Uuid::from_u128(id),
                payload_type: ptype,
                payload: Bytes::from(payload),
            },
        )
}

/// One change to a valid frame: flip a byte, cut it short, or add bytes at the end.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Extend(Vec<u8>),
    /// Overwrite a big-endian u32 field (lengths and types are the interesting ones).
    Word(usize, u32),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=u8::MAX).prop_map(|(at, x)| Mutation::Flip(at, x)),
        any::<usize>().prop_map(Mutation::Truncate),
        prop::collection::vec(any::<u8>(), 1..64).prop_map(Mutation::Extend),
        (
            prop::sample::select(vec![0usize, 36, 112, 116]),
            prop_oneof![Just(0u32), Just(u32::MAX), Just(116), any::<u32>()]
        )
            .prop_map(|(at, v)| Mutation::Word(at, v)),
    ]
}

fn apply(frame: &mut Vec<u8>, m: &Mutation) {
    match m {
        Mutation::Flip(at, x) => {
            if !frame.is_empty() {
                let i = at % frame.len();
                frame[i] ^= x;
            }
        }
        Mutation::Truncate(at) => frame.truncate(at % (frame.len() + 1)),
        Mutation::Extend(more) => frame.extend_from_slice(more),
        Mutation::Word(at, v) => {
            if frame.len() >= at + 4 {
                frame[*at..at + 4].copy_from_slice(&v.to_be_bytes());
            }
        }
    }
}

proptest! {
    #![proptest_config(budget())]

    #[test]
    fn codec_arbitrary_bytes_are_an_error_not_a_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        let _ = ClientMessage::decode(&bytes);
        let _ = ClientMessage::decode_as_agent(&bytes);
    }

    #[test]
    fn codec_round_trips(m in valid_message()) {
        let wire = m.encode();
        prop_assert_eq!(wire.len(), PAYLOAD_OFFSET + m.payload.len());
        prop_assert_eq!(ClientMessage::decode(&wire), Ok(m.clone()));
        prop_assert_eq!(ClientMessage::decode_as_agent(&wire), Ok(m));
    }

    #[test]
    fn codec_mutated_frames_decode_or_fail_cleanly(
        m in valid_message(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let mut wire = m.encode();
        for x in &mutations {
            apply(&mut wire, x);
        }
        if let Ok(back) = ClientMessage::decode(&wire) {
            // Whatever decodes is self-consistent: its payload fits in the frame it came from.
            prop_assert!(back.payload.len() + PAYLOAD_OFFSET <= wire.len());
        }
        let _ = ClientMessage::decode_as_agent(&wire);
    }

    #[test]
    fn payloads_never_panic_on_arbitrary_json(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = serde_json::from_slice::<Acknowledge>(&bytes);
        let _ = serde_json::from_slice::<Size>(&bytes);
        let _ = serde_json::from_slice::<HandshakeRequest>(&bytes);
        let _ = serde_json::from_slice::<HandshakeResponse>(&bytes);
        let _ = serde_json::from_slice::<HandshakeComplete>(&bytes);
        let _ = serde_json::from_slice::<ChannelClosed>(&bytes);
    }

    #[test]
    fn acknowledge_and_size_round_trip(
        kind in "[a-z_]{0,32}", id in any::<u128>(), seq in any::<i64>(), seqd in any::<bool>(),
        cols in any::<u32>(), rows in any::<u32>(),
    ) {
        let ack = Acknowledge {
            message_type: kind,
            message_id: Uuid::from_u128(id).to_string(),
            sequence_number: seq,
            is_sequential: seqd,
        };
        let json = serde_json::to_vec(&ack).expect("serialize");
        prop_assert_eq!(serde_json::from_slice::<Acknowledge>(&json).expect("parse"), ack);
        let size = Size { cols, rows };
        let json = serde_json::to_vec(&size).expect("serialize");
        prop_assert_eq!(serde_json::from_slice::<Size>(&json).expect("parse"), size);
    }

    /// The receive side of the data channel: stream messages in any order, with duplicates and
    /// junk acknowledgements mixed in, come out once each and in sequence.
    #[test]
    fn reliable_delivers_each_message_once_in_order(
        order in Just((0..40i64).collect::<Vec<_>>()).prop_shuffle(),
        dups in prop::collection::vec(0..40i64, 0..20),
        junk_acks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..5),
    ) {
        let now = tokio::time::Instant::now();
        let mut link = Reliable::new(Role::Client);
        let mut delivered = Vec::new();
        let stream = |seq: i64| {
            ClientMessage::new(types::OUTPUT_STREAM_DATA, seq, 0, PayloadType::Output, seq.to_string())
        };
        for junk in junk_acks {
            let ack = ClientMessage::new(types::ACKNOWLEDGE, 0, 3, PayloadType::Null, junk);
            prop_assert!(link.receive(ack, now).delivered.is_empty());
        }
        for seq in order.iter().copied().chain(dups) {
            let got = link.receive(stream(seq), now);
            prop_assert_eq!(got.replies.len(), 1, "every stream message is acknowledged");
            delivered.extend(got.delivered.into_iter().map(|m| m.sequence_number));
        }
        prop_assert_eq!(delivered, (0..40).collect::<Vec<_>>());
    }
}

// ---------------------------------------------------------------------------------------------
// smux framing (src/channel/smux.rs)

fn smux_frame() -> impl Strategy<Value = Frame> {
    (
        prop::sample::select(vec![Cmd::Syn, Cmd::Fin, Cmd::Psh, Cmd::Nop]),
        any::<u32>(),
        prop::collection::vec(any::<u8>(), 0..3000),
    )
        .prop_map(|(cmd, stream, data)| Frame::new(cmd, stream, data))
}

/// Every frame the decoder yields from `chunks`, stopping at its first error.
fn decode_all(chunks: &[&[u8]]) -> (Vec<Frame>, bool) {
    let mut decoder = Decoder::default();
    let mut frames = Vec::new();
    for chunk in chunks {
        decoder.push(chunk);
        loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(_) => return (frames, true),
            }
        }
    }
    (frames, false)
}

/// `bytes` cut at the given (sorted, deduplicated) offsets.
fn cut<'a>(bytes: &'a [u8], offsets: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = offsets.iter().map(|o| o % (bytes.len() + 1)).collect();
    points.sort_unstable();
    points.dedup();
    let mut pieces = Vec::new();
    let mut from = 0;
    for p in points.into_iter().chain([bytes.len()]) {
        pieces.push(&bytes[from..p]);
        from = p;
    }
    pieces
}

proptest! {
    #![proptest_config(budget())]

    #[test]
    fn smux_arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..2000),
        offsets in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let (frames, _) = decode_all(&cut(&bytes, &offsets));
        let data: usize = frames.iter().map(|f| f.data.len() + 8).sum();
        prop_assert!(data <= bytes.len(), "frames come only from the bytes given");
    }

    /// Mostly-valid streams: a version byte of 1 and a known command, so the decoder gets past
    /// the header checks and has to handle lengths and short reads.
    #[test]
    fn smux_headers_that_look_right_never_panic(
        parts in prop::collection::vec(
            (0u8..4, any::<u16>(), any::<u32>(), prop::collection::vec(any::<u8>(), 0..64)),
            0..10,
        ),
    ) {
        let mut bytes = Vec::new();
        for (cmd, len, id, data) in parts {
            bytes.push(1);
            bytes.push(cmd);
            bytes.extend_from_slice(&len.to_le_bytes());
            bytes.extend_from_slice(&id.to_le_bytes());
            bytes.extend_from_slice(&data);
        }
        let _ = decode_all(&[&bytes]);
    }

    #[test]
    fn smux_round_trips_however_the_bytes_are_cut(
        frames in prop::collection::vec(smux_frame(), 0..8),
        offsets in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let mut wire = BytesMut::new();
        for f in &frames {
            f.encode_into(&mut wire);
        }
        let (back, failed) = decode_all(&cut(&wire, &offsets));
        prop_assert!(!failed);
        prop_assert_eq!(back, frames);
    }
}

// ---------------------------------------------------------------------------------------------
// Session-log parsers (src/replay/timeline.rs, src/replay/text.rs)

/// A log event's message: plain text with escapes, a well-formed streaming event, or a
/// streaming event broken in one of the ways real logs break.
fn log_message() -> impl Strategy<Value = String> {
    let text = "(\\PC|\x1b|\r|\n|\t|\x08|\u{9b}|\\[|;|[0-9]){0,60}";
    let time = prop_oneof![
        Just(None),
        Just(Some("2026-11-24T10:00:00Z".to_string())),
        Just(Some("not a time".to_string())),
        Just(Some("+262143-12-31T23:59:59Z".to_string())),
        Just(Some("-262143-01-01T00:00:00Z".to_string())),
        (0i64..4_000_000_000)
            .prop_map(|s| { chrono::DateTime::from_timestamp(s, 0).map(|t| t.to_rfc3339()) }),
    ];
    prop_oneof![
        text.prop_map(String::from),
        (time, prop::collection::vec(text, 0..4), any::<bool>()).prop_map(
            |(time, lines, version)| {
                let mut event = serde_json::json!({ "sessionData": lines });
                if version {
                    event["eventVersion"] = "1.0".into();
                }
                if let Some(t) = time {
                    event["eventTime"] = t.into();
                }
                event.to_string()
            }
        ),
        prop_oneof![
            Just(r#"{"eventVersion":"1.0","sessionData":"not a list"}"#.to_string()),
            Just(r#"{"eventVersion":"1.0"}"#.to_string()),
            Just(r#"{"sessionData":["#.to_string()),
            Just(r#"{"eventVersion":1,"sessionData":[1,2]}"#.to_string()),
            any::<String>().prop_map(|s| format!(r#"{{"eventVersion":"1.0",{s}"#)),
        ],
    ]
}

fn log_events() -> impl Strategy<Value = Vec<LogEvent>> {
    prop::collection::vec(
        (
            prop_oneof![any::<i64>(), 0i64..4_000_000_000_000],
            log_message(),
        )
            .prop_map(|(timestamp, message)| LogEvent { timestamp, message }),
        0..30,
    )
}

proptest! {
    #![proptest_config(budget())]

    /// Whatever the events, the builder takes them all, never goes backwards in time, and the
    /// timeline's readers (search, commands, gaps, seeking) work on the result.
    #[test]
    fn log_parser_takes_anything(
        events in log_events(),
        page in 1usize..8,
        needle in "(\\PC|[a-zA-Z$#> ]){0,6}",
        at_ms in any::<u32>(),
    ) {
        let mut builder = TimelineBuilder::new();
        for chunk in events.chunks(page) {
            builder.push(chunk);
        }
        prop_assert_eq!(builder.events(), events.len());
        let timeline = builder.finish();
        prop_assert_eq!(timeline.events, events.len());
        match timeline.format {
            LogFormat::Plain => prop_assert!(timeline.malformed.is_empty()),
            LogFormat::Stream => prop_assert_eq!(
                timeline.frames().len() + timeline.malformed.len(),
                events.len(),
                "each streaming event is a frame or a skipped malformed event"
            ),
        }
        prop_assert!(timeline.frames().windows(2).all(|w| w[0].at <= w[1].at));
        for hit in timeline.search(&needle) {
            let line = &timeline.lines()[hit.line].text;
            prop_assert!(line.get(hit.start..hit.end).is_some(), "hits are char ranges");
        }
        let t = Duration::from_millis(u64::from(at_ms));
        let _ = timeline.next_command(t);
        let _ = timeline.gaps(Duration::from_millis(1));
        prop_assert!(timeline.frames_until(t) <= timeline.frames().len());
        let _ = timeline.plain_text();
    }

    /// Reading page by page is the same as reading everything at once.
    #[test]
    fn log_parser_is_independent_of_page_size(events in log_events(), page in 1usize..8) {
        let whole = Timeline::from_events(&events);
        let mut builder = TimelineBuilder::new();
        for chunk in events.chunks(page) {
            builder.push(chunk);
        }
        let paged = builder.finish();
        prop_assert_eq!(whole.frames(), paged.frames());
        prop_assert_eq!(whole.malformed, paged.malformed);
    }

    #[test]
    fn strip_controls_leaves_no_controls(text in "(\\PC|\\p{Cc}|\u{9b}|\u{9d}|\\[|;|[0-9]){0,80}") {
        let plain = strip_controls(&text);
        prop_assert!(
            plain.chars().all(|c| c == '\n' || c == '\t' || !(c.is_control())),
            "{:?} -> {:?}", text, plain
        );
    }

    /// Replaying a recorded screen feeds log text to the terminal emulator at any size.
    #[test]
    fn replay_screen_renders_any_log(events in log_events(), cols in 1u16..120, rows in 1u16..40) {
        let timeline = Timeline::from_events(&events);
        let screen = timeline.screen_at(timeline.duration(), cols, rows);
        let _ = screen.screen().contents();
    }
}

// ---------------------------------------------------------------------------------------------
// The query language (src/search/query.rs)

/// Queries built from the language's own pieces, so most of them get past the tokenizer.
fn query_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        prop::sample::select(vec![
            "tag:",
            "ping:",
            "platform:",
            "region:",
            "state:",
            "id:",
            "profile:",
            "agent:",
            "TAG:",
            "!",
            ":",
            "=",
            "*",
            " ",
            "  ",
            "\t",
            "Env",
            "prod",
            "lost",
            "running",
            "outdated",
            "i-0a",
            "fe80::1",
            "\u{130}",
            "ß",
            "é",
            "\u{1c5}",
        ])
        .prop_map(String::from),
        "\\PC{1,3}",
    ];
    prop::collection::vec(piece, 0..12).prop_map(|p| p.concat())
}

fn instance(tag_value: String, id: String) -> Instance {
    Instance {
        instance_id: id,
        name: None,
        profile: "default".into(),
        region: "eu-west-1".into(),
        state: InstanceState::Running,
        ping_status: PingStatus::Online,
        last_ping: None,
        agent_version: Some("3.3.987.0".into()),
        agent_is_latest: Some(false),
        platform_type: PlatformType::Linux,
        platform: "Amazon Linux".into(),
        private_ip: None,
        public_ip: None,
        instance_type: None,
        availability_zone: None,
        iam_instance_profile: None,
        computer_name: None,
        launch_time: None,
        tags: [("Env".to_string(), tag_value)].into(),
        managed: true,
    }
}

/// The obvious definition of a `*` glob, as a table: `m[i][j]` = pattern[..i] matches text[..j].
fn glob_reference(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let mut m = vec![vec![false; t.len() + 1]; p.len() + 1];
    m[0][0] = true;
    for i in 1..=p.len() {
        for j in 0..=t.len() {
            m[i][j] = if p[i - 1] == '*' {
                m[i - 1][j] || (j > 0 && m[i][j - 1])
            } else {
                j > 0 && m[i - 1][j - 1] && p[i - 1] == t[j - 1]
            };
        }
    }
    m[p.len()][t.len()]
}

proptest! {
    #![proptest_config(budget())]

    #[test]
    fn query_arbitrary_text_parses_or_says_why(input in any::<String>()) {
        if let Err(e) = Query::parse(&input) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn query_language_pieces_parse_or_say_why(
        input in query_text(),
        tag_value in "(\\PC|[a-z*]){0,12}",
        id in "(\\PC|[a-z0-9-]){0,12}",
    ) {
        match Query::parse(&input) {
            Ok(q) => {
                // Whitespace is only a separator: the same terms, spaced anyhow, are the same query.
                let respaced = input.split_whitespace().collect::<Vec<_>>().join("   ");
                prop_assert_eq!(Query::parse(&respaced), Ok(q.clone()));
                prop_assert!(!q.text.contains("  "));
                let _ = q.accepts(&instance(tag_value, id));
                let _ = q.narrows(&Query::default());
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    /// The fuzzy part goes to nucleo's pattern syntax (`!`, `^`, `$`, `'`, `\\`): searching and
    /// highlighting take any of it, and highlights stay inside the text.
    #[test]
    fn query_search_and_highlight_take_any_text(
        input in query_text(),
        names in prop::collection::vec("(\\PC|[a-z0-9 -]|\r\n){0,16}", 1..6),
    ) {
        let Ok(q) = Query::parse(&input) else { return Ok(()); };
        let fleet: Vec<Instance> = names
            .iter()
            .enumerate()
            .map(|(n, name)| {
                let mut i = instance(name.clone(), format!("i-{n:017x}"));
                i.name = Some(name.clone());
                i
            })
            .collect();
        let mut index = FleetIndex::new(&fleet);
        for hit in index.search(&fleet, &q) {
            prop_assert!(hit.index < fleet.len());
        }
        let mut highlighter = Highlighter::new(&q);
        for name in &names {
            let chars = name.chars().count();
            prop_assert!(index.highlight(&q, name).iter().all(|&p| (p as usize) < chars.max(1)));
            prop_assert!(highlighter.positions(name).iter().all(|&p| (p as usize) < chars.max(1)));
        }
    }

    /// `tag:Env=GLOB` matches what the textbook definition of a glob matches.
    #[test]
    fn tag_globs_match_like_the_reference(
        pattern in "[ab*]{1,10}",
        value in "[abAB]{0,12}",
    ) {
        let q = Query::parse(&format!("tag:Env={pattern}")).expect("a valid tag filter");
        prop_assert_eq!(
            q.accepts(&instance(value.clone(), "i-1".into())),
            glob_reference(&pattern, &value),
            "tag:Env={} against {:?}", pattern, value
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Config files (src/config.rs) and the files it points at (keymap, theme)

/// TOML-ish text made of config.toml's own pieces plus stray syntax and multi-byte characters.
fn toml_ish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        prop::sample::select(vec![
            "profiles = [\"a\"]\n",
            "regions = [",
            "\"us-east-1\"",
            "]\n",
            "endpoint_url = ",
            "[list]\n",
            "[tui]\n",
            "tag_columns = [\"Env\"]\n",
            "[theme]\n",
            "name = \"dark\"\n",
            "[theme.roles]\n",
            "health_lost = { fg = \"magenta\" }\n",
            "[keymap]\n",
            "fleet = [\n",
            "{ on = \"x\", run = \"quit\" },\n",
            "{ on = [\"g\", \"x\"], run = \"help\" }",
            "[run]\n",
            "confirm_threshold = ",
            "-1",
            "99999999999999999999",
            "10\n",
            "=",
            "\"",
            "'",
            "[[",
            "]]",
            "{",
            "}",
            ",",
            "#",
            "\n",
            "\r\n",
            " ",
            "é",
            "日本",
            "\u{1f600}",
            "\\u",
            "\"\"\"",
            "'''",
            "\0",
        ])
        .prop_map(String::from),
        "\\PC{1,4}",
    ];
    prop::collection::vec(piece, 0..24).prop_map(|p| p.concat())
}

fn check_config(text: &str) -> Result<(), TestCaseError> {
    match Config::parse(text, Path::new("c.toml")) {
        Ok(_) => {}
        Err(ConfigError::Syntax {
            line,
            column,
            message,
            ..
        }) => {
            prop_assert!(line >= 1 && column >= 1);
            prop_assert!(
                line <= text.split('\n').count(),
                "line {} of {:?}",
                line,
                text
            );
            prop_assert!(!message.is_empty());
        }
        Err(e) => prop_assert!(false, "parsing text cannot fail to read: {}", e),
    }
    let _ = fleetdeck::tui::keymap::Keymap::parse(text, "keymap.toml", false);
    let _ = fleetdeck::tui::theme::parse_theme(text, "theme.toml");
    Ok(())
}

proptest! {
    #![proptest_config(budget())]

    #[test]
    fn config_arbitrary_text_is_ok_or_located_error(text in any::<String>()) {
        check_config(&text)?;
    }

    #[test]
    fn config_toml_ish_text_is_ok_or_located_error(text in toml_ish()) {
        check_config(&text)?;
    }

    #[test]
    fn key_names_parse_or_say_why(text in "(<|>|-|C|A|S|F|[0-9]|\\PC){0,8}") {
        if let Err(e) = fleetdeck::tui::keymap::Key::parse(&text) {
            prop_assert!(!e.is_empty());
        }
    }

    #[test]
    fn line_and_column_takes_any_offset(text in any::<String>(), offset in any::<usize>()) {
        let (line, column) = line_and_column(&text, offset);
        prop_assert!(line >= 1 && column >= 1);
    }
}

// ---------------------------------------------------------------------------------------------
// The terminal tab's screen (src/terminal/screen.rs): whatever a remote shell prints, at any size

proptest! {
    #![proptest_config(budget())]

    /// Resizes between chunks included: vt100 0.16 still panics when a wide character cut by a
    /// narrowing resize is written over; the screen catches that and starts again blank, so no
    /// panic escapes and the size stays the one asked for.
    #[test]
    fn terminal_screen_takes_any_output_at_any_size(
        rows in 0u16..6,
        cols in 0u16..12,
        chunks in prop::collection::vec(
            ("(\\PC|\\p{Cc}|[a-z]|\u{4e2d}|\u{1f600}){0,40}", 0u16..6, 0u16..12),
            1..6,
        ),
    ) {
        let mut screen = fleetdeck::terminal::TermScreen::new(rows, cols);
        for (text, rows, cols) in chunks {
            let _ = screen.process(text.as_bytes());
            screen.resize(rows, cols);
            let min = fleetdeck::terminal::screen::MIN_SIZE;
            prop_assert_eq!(screen.size(), (rows.max(min), cols.max(min)));
        }
        let _ = screen.screen().contents();
    }
}

// ---------------------------------------------------------------------------------------------
// Regressions: each input the properties above once found, fixed, and kept here by name.

/// vt100 0.16 subtracted past zero on a line wrapping in a 1-row screen and on a wide character
/// in a 1-column one; a tab squeezed to one row then crashed the console.
#[test]
fn regression_one_row_or_one_column_screens() {
    let mut screen = fleetdeck::terminal::TermScreen::new(0, 0);
    screen.process("中".as_bytes()).expect("no reset needed");
    screen.resize(1, 5);
    screen
        .process(b"a line longer than five columns\r\nand another")
        .expect("no reset needed");
    screen.resize(3, 1);
    screen
        .process("中文 wide".as_bytes())
        .expect("no reset needed");
    assert!(screen.size().0 >= 2 && screen.size().1 >= 2);

    let events = [
        LogEvent {
            timestamp: 0,
            message: String::new(),
        },
        LogEvent {
            timestamp: 0,
            message: r#"{"sessionData":["["]}"#.into(),
        },
    ];
    let timeline = Timeline::from_events(&events);
    let parser = timeline.screen_at(timeline.duration(), 1, 1);
    assert_eq!(parser.screen().size(), (2, 2));
}
