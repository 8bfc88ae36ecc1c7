//! The pictures as a user makes them, through the binary: `plan --svg`
//! draws both layouts on the model's phase names, `plot` keeps a layout
//! readable under a far capacity, and the README's sweep picture is what
//! its command writes.

#[path = "support/cli.rs"]
mod harness;

use harness::{repo, s, scratch, smemplan};

/// The headings of the panels and the phases under them.
#[test]
fn plan_svg_draws_both_layouts_on_the_phase_names() {
    let dir = scratch("pictures-plan");
    let svg = dir.join("plan.svg");
    let run = smemplan(&["plan", "--model", "dirk", "--set", "n=3", "--json", "--svg", s(&svg)]).expect(0);
    let v = run.json();
    let picture = std::fs::read_to_string(&svg).unwrap();
    let cubie = format!("CuBIE 0.17.0: {} shared bytes per run", v["cubie"]["shared_bytes"]);
    let optimised =
        format!("({}): {} shared bytes per run", v["strategy"].as_str().unwrap(), v["optimized"]["shared_bytes"]);
    assert!(picture.contains(&cubie) && picture.contains(&optimised), "{picture}");
    // Every phase named once per panel, no bare instants on the time axis.
    for phase in ["init", "predict", "stages.setup", "loop.commit"] {
        assert_eq!(picture.matches(&format!(">{phase}</text>")).count(), 2, "{phase}");
    }
    assert!(!picture.contains(">time</text>"));
    // CuBIE's side draws CuBIE's offsets: its `state` at CuBIE's offset.
    let state = v["cubie"]["buffers"].as_array().unwrap().iter().find(|b| b["name"] == "state").unwrap();
    assert!(
        picture.contains(&format!("<title>state: offset {}, size {}", state["offset"], state["bytes"])),
        "{picture}"
    );
    assert!(picture.contains("<title>kernel/loop/state: offset "));
    // Both panels label it `state`: the optimised one wrote the whole path,
    // which fit none of its rectangles.
    assert_eq!(picture.matches(">state</text>").count(), 2, "{picture}");
    assert!(!picture.contains(r#"fill="black">kernel/loop/"#), "{picture}");
    // SVG 1.1 renderers (cairo, rsvg) paint `hsl()` fills black and ignore
    // `paint-order`.
    assert!(!picture.contains("hsl(") && !picture.contains("paint-order"), "{picture}");
}

/// An all-local plan's empty panel says where its bytes went.
#[test]
fn plan_svg_names_the_local_bytes_it_does_not_draw() {
    let dir = scratch("pictures-local");
    let svg = dir.join("plan.svg");
    let args = ["plan", "--set", "n=100", "--precision", "f64", "--device", "h200", "--runs", "131072"];
    let v = smemplan(&[&args[..], &["--tiers", "auto", "--json", "--svg", s(&svg)]].concat()).expect(0).json();
    let chosen = &v["tiers"]["chosen"];
    assert_eq!(chosen["shared_bytes"], 0, "the estimate's pick is all local");
    let picture = std::fs::read_to_string(&svg).unwrap();
    let local = chosen["local_bytes"].as_u64().unwrap();
    assert!(
        picture.contains(&format!("0 shared bytes per run, {local} local bytes per thread (not drawn)")),
        "{picture}"
    );
    assert!(!picture.contains("lower bound 0"), "{picture}");
}

#[test]
fn plot_marks_a_capacity_that_would_flatten_the_layout() {
    let dir = scratch("pictures-plot");
    let svg = dir.join("layout.svg");
    let run = smemplan(&[
        "plot",
        s(&repo("tests/data/small.csv")),
        s(&repo("tests/data/small.valid.csv")),
        "--svg",
        s(&svg),
        "--capacity",
        "1048576",
    ])
    .expect(0);
    assert!(run.stdout.contains("note: capacity 1048576 is more than 4× the layout's peak"), "{}", run.stdout);
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(picture.contains(r#"class="capacity-off-scale""#) && !picture.contains(r#"class="capacity""#));
    // A capacity near the peak is a line, without a note.
    let run = smemplan(&[
        "plot",
        s(&repo("tests/data/small.csv")),
        s(&repo("tests/data/small.valid.csv")),
        "--svg",
        s(&svg),
        "--capacity",
        "16",
    ])
    .expect(0);
    assert!(!run.stdout.contains("note:"), "{}", run.stdout);
    assert!(std::fs::read_to_string(&svg).unwrap().contains(r#"class="capacity""#));
}
