//! The scorecard as one self-contained HTML page with inline SVG charts: no scripts, no fonts,
//! no requests, so it opens anywhere and can be mailed.

use std::fmt::Write;

use super::report::thousands;
use super::scorecard::Scorecard;
use crate::headend::outage::Outage;
use crate::scenario::clock::ScenarioClock;
use crate::time::Timestamp;

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}\
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}\
.tiles{display:flex;flex-wrap:wrap;gap:1em}.tile{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:9em}\
.tile b{display:block;font-size:1.5em}.bad b{color:#b00}.good b{color:#070}\
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}\
th{background:#f4f4f4}td.n{text-align:right}svg text{font-size:11px;font-family:system-ui,sans-serif}";

/// The page for one run.
pub fn page(
    card: &Scorecard,
    outages: &[Outage],
    clock: &ScenarioClock,
    description: &str,
    start: Timestamp,
    end: Timestamp,
) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>reanimator: {name}</title><style>{STYLE}</style></head><body>\
         <h1>Scenario {name}: scorecard</h1><p>{desc}</p><p>Seed {seed}, {meters} meters, {hours} hours.</p>",
        name = esc(&card.scenario),
        desc = esc(description),
        seed = card.seed,
        meters = thousands(card.meters as u64),
        hours = card.span_hours
    );
    tiles(&mut s, card);
    s.push_str("<h2>Meters out over time</h2><p>Meters truly out (the fault timeline) and meters with an open outage in the head-end's log, per 15 minutes.</p>");
    timeline(&mut s, card, outages, clock, start, end);
    s.push_str("<h2>Root causes</h2>");
    causes(&mut s, card);
    confusion(&mut s, card);
    s.push_str("<h2>Availability per cell</h2>");
    cells(&mut s, card);
    s.push_str("<h2>Outage log</h2>");
    log(&mut s, outages, clock);
    s.push_str("</body></html>\n");
    s
}

fn tiles(s: &mut String, c: &Scorecard) {
    let tile = |s: &mut String, label: &str, value: String, good: bool| {
        let class = if good { "tile good" } else { "tile bad" };
        let _ = write!(
            s,
            "<div class=\"{class}\"><b>{}</b>{}</div>",
            esc(&value),
            esc(label)
        );
    };
    s.push_str("<div class=\"tiles\">");
    tile(s, "true outages", c.outages.true_outages.to_string(), true);
    tile(
        s,
        "detected",
        c.outages.detected.to_string(),
        c.outages.detected == c.outages.true_outages,
    );
    tile(
        s,
        "missed",
        c.outages.missed.len().to_string(),
        c.outages.missed.is_empty(),
    );
    tile(
        s,
        "false alarms",
        c.outages.false_alarms.len().to_string(),
        c.outages.false_alarms.is_empty(),
    );
    tile(
        s,
        "root cause right",
        format!("{:.1}%", c.diagnosis.accuracy_percent),
        c.diagnosis.correct == c.diagnosis.total,
    );
    tile(
        s,
        "readings complete",
        format!("{:.3}%", c.readings.completeness_percent),
        c.readings.stored == c.readings.expected,
    );
    tile(
        s,
        "wasted resets",
        c.actions.wasted.len().to_string(),
        c.actions.wasted.is_empty(),
    );
    tile(
        s,
        "session set-up success",
        c.sla
            .setup_success_percent
            .map_or("-".into(), |p| format!("{p:.2}%")),
        true,
    );
    s.push_str("</div>");
}

/// A line chart of meters out per 15 minutes: truth in grey, the head-end's log in red.
fn timeline(
    s: &mut String,
    c: &Scorecard,
    outages: &[Outage],
    clock: &ScenarioClock,
    start: Timestamp,
    end: Timestamp,
) {
    let step = 900_000u64;
    let n = ((end.as_millis().saturating_sub(start.as_millis())) / step).max(1) as usize;
    let mut truth = vec![0u32; n];
    let mut logged = vec![0u32; n];
    let bucket = |t: Timestamp| (t.as_millis().saturating_sub(start.as_millis()) / step) as usize;
    for m in &c.matches {
        let to = m.end.or(m.recovered).unwrap_or(end);
        let (from, to) = (bucket(m.start).min(n), bucket(to).min(n));
        for slot in &mut truth[from..to.max(from)] {
            *slot += 1;
        }
    }
    for o in outages {
        let (from, to) = (bucket(o.start).min(n), bucket(o.end.unwrap_or(end)).min(n));
        for slot in &mut logged[from..to.max(from)] {
            *slot += 1;
        }
    }
    let max = truth
        .iter()
        .chain(&logged)
        .copied()
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let (w, h, left, bottom) = (1000.0, 220.0, 40.0, 20.0);
    let x = |i: usize| left + (w - left) * i as f64 / n as f64;
    let y = |v: u32| (h - bottom) - (h - bottom - 10.0) * v as f64 / max;
    let path = |v: &[u32]| {
        let mut p = String::new();
        for (i, &val) in v.iter().enumerate() {
            let _ = write!(
                p,
                "{}{:.1},{:.1} L{:.1},{:.1} ",
                if i == 0 { "M" } else { "L" },
                x(i),
                y(val),
                x(i + 1),
                y(val)
            );
        }
        p
    };
    let _ = write!(s, "<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"meters out over time\">");
    let _ = write!(
        s,
        "<line x1=\"{left}\" y1=\"{0}\" x2=\"{w}\" y2=\"{0}\" stroke=\"#999\"/>",
        h - bottom
    );
    let hours = n / 4;
    let every = (hours / 12).max(1) * 4;
    for i in (0..n).step_by(every) {
        let t = Timestamp(start.as_millis() + i as u64 * step);
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            x(i),
            h - 4.0,
            esc(&clock.format(t))
        );
    }
    let _ = write!(
        s,
        "<text x=\"2\" y=\"{:.1}\">{}</text><text x=\"2\" y=\"{}\">0</text>",
        y(max as u32) + 4.0,
        max as u32,
        h - bottom
    );
    let _ = write!(
        s,
        "<path d=\"{}\" fill=\"none\" stroke=\"#888\" stroke-width=\"3\"/>",
        path(&truth)
    );
    let _ = write!(
        s,
        "<path d=\"{}\" fill=\"none\" stroke=\"#c00\" stroke-width=\"1.5\"/>",
        path(&logged)
    );
    let _ = write!(s, "<text x=\"{}\" y=\"14\" fill=\"#888\">truly out</text><text x=\"{}\" y=\"28\" fill=\"#c00\">in the outage log</text></svg>", w - 140.0, w - 140.0);
}

/// Bars per true cause: outages, and how many were diagnosed right.
fn causes(s: &mut String, c: &Scorecard) {
    let rows: Vec<(&String, &(usize, usize))> = c.diagnosis.per_cause.iter().collect();
    if rows.is_empty() {
        s.push_str("<p>No true outages in this run.</p>");
        return;
    }
    let max = rows.iter().map(|(_, (n, _))| *n).max().unwrap_or(1).max(1) as f64;
    let (w, row, label) = (1000.0, 22.0, 200.0);
    let h = row * rows.len() as f64 + 10.0;
    let _ = write!(s, "<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"outages per cause\">");
    for (i, (cause, (n, right))) in rows.iter().enumerate() {
        let y = i as f64 * row + 4.0;
        let full = (w - label - 80.0) * *n as f64 / max;
        let ok = (w - label - 80.0) * *right as f64 / max;
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{:.1}\">{}</text><rect x=\"{label}\" y=\"{y:.1}\" width=\"{full:.1}\" height=\"16\" fill=\"#f1c6c6\"/>\
             <rect x=\"{label}\" y=\"{y:.1}\" width=\"{ok:.1}\" height=\"16\" fill=\"#6a6\"/><text x=\"{:.1}\" y=\"{:.1}\">{right} of {n} right</text>",
            y + 12.0,
            esc(cause),
            label + full + 6.0,
            y + 12.0
        );
    }
    s.push_str("</svg>");
}

fn confusion(s: &mut String, c: &Scorecard) {
    let mut cols: Vec<&String> = c
        .diagnosis
        .confusion
        .values()
        .flat_map(|r| r.keys())
        .collect();
    cols.sort();
    cols.dedup();
    if cols.is_empty() {
        return;
    }
    s.push_str("<p>Confusion matrix: true cause (rows) against the head-end's diagnosis (columns).</p><table><tr><th>true \\ diagnosed</th>");
    for col in &cols {
        let _ = write!(s, "<th>{}</th>", esc(col));
    }
    s.push_str("</tr>");
    for (t, row) in &c.diagnosis.confusion {
        let _ = write!(s, "<tr><th>{}</th>", esc(t));
        for col in &cols {
            let n = row.get(*col).copied().unwrap_or(0);
            let bg = if n == 0 {
                ""
            } else if *col == t {
                " style=\"background:#dfd\""
            } else {
                " style=\"background:#fdd\""
            };
            let _ = write!(
                s,
                "<td class=\"n\"{bg}>{}</td>",
                if n == 0 { String::new() } else { n.to_string() }
            );
        }
        s.push_str("</tr>");
    }
    s.push_str("</table>");
}

/// Availability bars per cell against the contract line, and the set-up KPI.
fn cells(s: &mut String, c: &Scorecard) {
    let sla = &c.sla;
    let _ = write!(
        s,
        "<p>Operator-caused unavailability (planned maintenance excluded), against the contracted {}%. Session set-up success over the run: {}.</p>",
        sla.contract_percent,
        sla.setup_success_percent.map_or("-".into(), |p| format!("{p:.2}%"))
    );
    let lo = sla
        .cells
        .iter()
        .map(|c| c.availability_percent)
        .fold(sla.contract_percent, f64::min)
        .min(99.0)
        .floor();
    let (w, row, label) = (1000.0, 16.0, 90.0);
    let h = row * sla.cells.len() as f64 + 24.0;
    let x =
        |p: f64| label + (w - label - 120.0) * ((p - lo) / (100.0 - lo).max(0.001)).clamp(0.0, 1.0);
    let _ = write!(s, "<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"availability per cell\">");
    for (i, cell) in sla.cells.iter().enumerate() {
        let y = i as f64 * row + 2.0;
        let fill = if cell.below_contract { "#c66" } else { "#6a6" };
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{:.1}\">{}</text><rect x=\"{label}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"12\" fill=\"{fill}\"/><text x=\"{:.1}\" y=\"{:.1}\">{:.3}%</text>",
            y + 10.0,
            esc(&cell.cell),
            x(cell.availability_percent) - label,
            x(cell.availability_percent) + 4.0,
            y + 10.0,
            cell.availability_percent
        );
    }
    let cx = x(sla.contract_percent);
    let _ = write!(
        s,
        "<line x1=\"{cx:.1}\" y1=\"0\" x2=\"{cx:.1}\" y2=\"{:.1}\" stroke=\"#00c\" stroke-dasharray=\"4 3\"/><text x=\"{cx:.1}\" y=\"{:.1}\" fill=\"#00c\">contract {}% (axis from {lo}%)</text></svg>",
        h - 14.0,
        h - 2.0,
        sla.contract_percent
    );
}

fn log(s: &mut String, outages: &[Outage], clock: &ScenarioClock) {
    const SHOWN: usize = 300;
    s.push_str("<table><tr><th>#</th><th>meter</th><th>from</th><th>detected</th><th>ended</th><th>cause</th><th>missed</th><th>backfilled</th><th>what it means</th></tr>");
    for o in outages.iter().take(SHOWN) {
        let cause = super::scorecard::name(o.cause);
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            o.id,
            esc(&o.meter),
            esc(&clock.format(o.start)),
            esc(&clock.format(o.detected)),
            o.end.map_or("open".into(), |e| esc(&clock.format(e))),
            esc(&cause),
            o.readings_missed,
            o.readings_backfilled,
            esc(&o.sentence)
        );
    }
    s.push_str("</table>");
    if outages.len() > SHOWN {
        let _ = write!(
            s,
            "<p>… and {} more in the JSON report.</p>",
            outages.len() - SHOWN
        );
    }
}
