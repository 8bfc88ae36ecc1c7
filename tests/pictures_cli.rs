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
