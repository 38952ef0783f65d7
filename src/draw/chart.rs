//! Charts drawn on the server as inline SVG: progress against targets and stacked horizontal
//! bars, with axes, values written on the bars and a description for screen readers (pages put
//! the same numbers in a table beneath). Colours keep at least 4.5:1 contrast with their text.

use std::fmt::Write;

use super::diagram::{FONTS, esc, text_width, wrap};

const INK: &str = "#1d2733";
const MUTED: &str = "#4a5562";
const GRID: &str = "#d5dbe2";
const SIZE: f64 = 14.0;
const LINE: f64 = 18.0;
const LABEL_MAX: f64 = 230.0;

/// Fills for the series of a chart, each dark enough for white text on it.
pub const PALETTE: [&str; 5] = ["#1c4f8c", "#9a4a00", "#1f6e3a", "#6a3d9a", "#5b6775"];
/// The fill of what is left (dark text on it).
pub const REST: &str = "#dfe5ec";

/// A number string (`"-1234567.50"`) with thousands separators (`"-1,234,567.50"`).
pub fn group_digits(s: &str) -> String {
    let (sign, body) = s.strip_prefix('-').map_or(("", s), |b| ("-", b));
    let (int, frac) = body.split_once('.').map_or((body, None), |(i, f)| (i, Some(f)));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

/// An integer with thousands separators.
pub fn count(n: u64) -> String {
    group_digits(&n.to_string())
}

/// The share `current / target` in percent, one decimal, at most 100 (a target of 0 is met).
pub fn percent(current: u64, target: u64) -> f64 {
    if target == 0 {
        return 100.0;
    }
    ((current as f64 * 100.0 / target as f64).min(100.0) * 10.0).round() / 10.0
}

/// Round steps for an axis from 0 to at least `max`: about five ticks of 1, 2 or 5 × 10ⁿ.
pub fn ticks(max: f64) -> Vec<f64> {
    if max <= 0.0 || !max.is_finite() {
        return vec![0.0, 1.0];
    }
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let step = if max <= 5.0 { step.max(1.0) } else { step };
    let n = (max / step).ceil() as usize;
    (0..=n.max(1)).map(|i| i as f64 * step).collect()
}

fn open(out: &mut String, id: &str, width: f64, height: f64, title: &str, desc: &str) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {width:.0} {height:.0}\" width=\"{width:.0}\" \
         height=\"{height:.0}\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" font-family=\"{FONTS}\" font-size=\"{SIZE}\">\n\
         <title id=\"{id}-title\">{}</title>\n<desc id=\"{id}-desc\">{}</desc>\n\
         <rect x=\"0\" y=\"0\" width=\"{width:.0}\" height=\"{height:.0}\" fill=\"#ffffff\"/>\n",
        esc(title),
        esc(desc)
    );
}

fn labels_of(rows: impl Iterator<Item = String>) -> (Vec<Vec<String>>, f64) {
    let wrapped: Vec<Vec<String>> = rows.map(|l| wrap(&l, SIZE, LABEL_MAX)).collect();
    let w = wrapped.iter().flatten().map(|l| text_width(l, SIZE)).fold(60.0, f64::max);
    (wrapped, w.ceil())
}

fn write_label(out: &mut String, lines: &[String], right: f64, mid: f64) {
    let top = mid - (lines.len() as f64 * LINE) / 2.0;
    for (k, l) in lines.iter().enumerate() {
        let _ = write!(
            out,
            "<text x=\"{right:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"{INK}\">{}</text>",
            top + LINE * (k as f64 + 1.0) - 4.0,
            esc(l)
        );
    }
}

/// One target: how many there are now against how many the plan wants.
#[derive(Debug, Clone)]
pub struct Progress {
    pub label: String,
    pub current: u64,
    pub target: u64,
}

/// Progress bars, one a row: the label, the bar filled to the share reached, and the numbers
/// (`12 / 50 · 24.0%`) beside it. `met` names the text for a target reached.
pub fn progress(id: &str, title: &str, desc: &str, rows: &[Progress], met: &str) -> String {
    let (labels, label_w) = labels_of(rows.iter().map(|r| r.label.clone()));
    let track = 440.0;
    let x0 = 12.0 + label_w + 12.0;
    let texts: Vec<String> = rows
        .iter()
        .map(|r| {
            let mut t = format!("{} / {} · {:.1}%", count(r.current), count(r.target), percent(r.current, r.target));
            if r.current >= r.target {
                t.push_str(&format!(" · {met}"));
            }
            t
        })
        .collect();
    let text_w = texts.iter().map(|t| text_width(t, SIZE)).fold(0.0, f64::max);
    let width = (x0 + track + 12.0 + text_w + 12.0).ceil();
    let heights: Vec<f64> = labels.iter().map(|l| (l.len() as f64 * LINE + 14.0).max(36.0)).collect();
    let height = (heights.iter().sum::<f64>() + 16.0).ceil();
    let mut out = String::new();
    open(&mut out, id, width, height, title, desc);
    let mut y = 8.0;
    for (i, r) in rows.iter().enumerate() {
        let mid = y + heights[i] / 2.0;
        out.push_str("<g class=\"chart-row\">");
        write_label(&mut out, &labels[i], x0 - 12.0, mid);
        let share = percent(r.current, r.target) / 100.0;
        let fill = if r.current >= r.target { PALETTE[2] } else { PALETTE[0] };
        let _ = writeln!(
            out,
            "<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{track:.1}\" height=\"18\" rx=\"3\" fill=\"{REST}\" stroke=\"#8a96a3\"/>\
             <rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"18\" rx=\"3\" fill=\"{fill}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" fill=\"{INK}\">{}</text></g>",
            mid - 9.0,
            mid - 9.0,
            track * share,
            x0 + track + 12.0,
            mid + 4.5,
            esc(&texts[i])
        );
        y += heights[i];
    }
    out.push_str("</svg>\n");
    out
}

/// A bar of a stacked chart: one value per series, and how to write each.
#[derive(Debug, Clone)]
pub struct Stack {
    pub label: String,
    pub values: Vec<f64>,
    pub texts: Vec<String>,
    /// Written after the bar (e.g. the total).
    pub total: String,
}

/// Horizontal stacked bars with a legend on top and a value axis beneath; a value is written
/// inside its part when it fits. `last_is_rest` draws the last series pale (what is left).
pub fn stacked(
    id: &str,
    title: &str,
    desc: &str,
    series: &[String],
    rows: &[Stack],
    axis: &dyn Fn(f64) -> String,
    last_is_rest: bool,
) -> String {
    let (labels, label_w) = labels_of(rows.iter().map(|r| r.label.clone()));
    let plot = 480.0;
    let x0 = 12.0 + label_w + 12.0;
    let max = rows.iter().map(|r| r.values.iter().sum::<f64>()).fold(0.0, f64::max);
    let ticks = ticks(max);
    let top_tick = ticks.last().copied().unwrap_or(1.0).max(f64::MIN_POSITIVE);
    let scale = plot / top_tick;
    let total_w = rows.iter().map(|r| text_width(&r.total, SIZE) * 1.12).fold(0.0, f64::max);
    let last_tick_w = ticks.last().map_or(0.0, |t| text_width(&axis(*t), 12.0) / 2.0);
    let fill_of = |k: usize| {
        if last_is_rest && k + 1 == series.len() { REST } else { PALETTE[k % PALETTE.len()] }
    };
    // The legend, wrapped onto as many lines as it needs.
    let mut legend = Vec::new();
    let (mut lx, mut ly) = (x0, 16.0);
    let legend_right = x0 + plot + 12.0 + total_w;
    for (k, s) in series.iter().enumerate() {
        let w = 18.0 + text_width(s, SIZE) + 18.0;
        if lx + w > legend_right && lx > x0 {
            lx = x0;
            ly += LINE + 4.0;
        }
        legend.push((lx, ly, k));
        lx += w;
    }
    let heights: Vec<f64> = labels.iter().map(|l| (l.len() as f64 * LINE + 12.0).max(34.0)).collect();
    let plot_top = ly + 16.0;
    let plot_bottom = plot_top + heights.iter().sum::<f64>();
    let width = (legend_right.max(x0 + plot + last_tick_w) + 12.0).ceil();
    let height = (plot_bottom + 30.0).ceil();
    let mut out = String::new();
    open(&mut out, id, width, height, title, desc);
    out.push_str("<g class=\"chart-legend\">");
    for (x, y, k) in legend {
        let stroke = if fill_of(k) == REST { " stroke=\"#8a96a3\"" } else { "" };
        let _ = write!(
            out,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"{}\"{stroke}/><text x=\"{:.1}\" y=\"{y:.1}\" fill=\"{INK}\">{}</text>",
            y - 10.5,
            fill_of(k),
            x + 17.0,
            esc(&series[k])
        );
    }
    out.push_str("</g>\n<g class=\"chart-axis\">");
    for t in &ticks {
        let x = x0 + t * scale;
        let _ = write!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{plot_top:.1}\" x2=\"{x:.1}\" y2=\"{plot_bottom:.1}\" stroke=\"{GRID}\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"12\" fill=\"{MUTED}\">{}</text>",
            plot_bottom + 16.0,
            esc(&axis(*t))
        );
    }
    let _ = writeln!(
        out,
        "<line x1=\"{x0:.1}\" y1=\"{plot_top:.1}\" x2=\"{x0:.1}\" y2=\"{plot_bottom:.1}\" stroke=\"{INK}\"/>\
         <line x1=\"{x0:.1}\" y1=\"{plot_bottom:.1}\" x2=\"{:.1}\" y2=\"{plot_bottom:.1}\" stroke=\"{INK}\"/></g>",
        x0 + plot
    );
    let mut y = plot_top;
    for (i, r) in rows.iter().enumerate() {
        let mid = y + heights[i] / 2.0;
        out.push_str("<g class=\"chart-row\">");
        write_label(&mut out, &labels[i], x0 - 10.0, mid);
        let mut x = x0;
        for (k, v) in r.values.iter().enumerate() {
            let w = (v.max(0.0) * scale).max(0.0);
            if w <= 0.0 {
                continue;
            }
            let fill = fill_of(k);
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"20\" fill=\"{fill}\"",
                mid - 10.0
            );
            if fill == REST {
                out.push_str(" stroke=\"#8a96a3\"");
            }
            out.push_str("/>");
            let text = r.texts.get(k).map(String::as_str).unwrap_or_default();
            if !text.is_empty() && text_width(text, 12.0) + 8.0 <= w {
                let colour = if fill == REST { INK } else { "#ffffff" };
                let _ = write!(
                    out,
                    "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"12\" fill=\"{colour}\">{}</text>",
                    x + w / 2.0,
                    mid + 4.0,
                    esc(text)
                );
            }
            x += w;
        }
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"{INK}\" font-weight=\"bold\">{}</text></g>",
            x + 6.0,
            mid + 4.5,
            esc(&r.total)
        );
        y += heights[i];
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags_balance(svg: &str) -> bool {
        let opens = svg.matches("<svg").count() + svg.matches("<g").count() + svg.matches("<title").count();
        let closes = svg.matches("</svg>").count() + svg.matches("</g>").count() + svg.matches("</title>").count();
        opens == closes && svg.matches("<text").count() == svg.matches("</text>").count()
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(group_digits("5000000.00"), "5,000,000.00");
        assert_eq!(group_digits("-1234.5"), "-1,234.5");
        assert_eq!(group_digits("999"), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(percent(3, 12), 25.0);
        assert_eq!(percent(20, 12), 100.0);
        assert_eq!(percent(0, 0), 100.0);
        assert_eq!(ticks(7.0), vec![0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(ticks(5_000_000.0).last().copied(), Some(5_000_000.0));
        assert_eq!(ticks(0.0), vec![0.0, 1.0]);
    }

    #[test]
    fn progress_shows_every_target_with_its_numbers() {
        let rows = [
            Progress { label: "小巨人 <A&B>".into(), current: 3, target: 50 },
            Progress { label: "Champions".into(), current: 1_200, target: 1_000 },
        ];
        let svg = progress("p", "Targets", "How far", &rows, "met");
        assert!(svg.contains("3 / 50 · 6.0%"));
        assert!(svg.contains("1,200 / 1,000 · 100.0% · met"));
        assert!(svg.contains("小巨人 &lt;A&amp;B&gt;"));
        assert!(svg.contains("role=\"img\"") && !svg.contains("style="));
        assert!(tags_balance(&svg));
    }

    #[test]
    fn stacked_bars_write_values_that_fit() {
        let series = vec!["Spent".to_string(), "Reserved".to_string(), "Left".to_string()];
        let rows = [Stack {
            label: "Fund 2026".into(),
            values: vec![1_000_000.0, 10.0, 3_999_990.0],
            texts: vec!["1,000,000".into(), "10".into(), "3,999,990".into()],
            total: "5,000,000".into(),
        }];
        let svg =
            stacked("b", "Budgets", "Use of budgets", &series, &rows, &|v| group_digits(&format!("{v:.0}")), true);
        assert!(svg.contains(">1,000,000</text>") && svg.contains(">3,999,990</text>"));
        assert!(!svg.contains(">10</text>"), "too narrow to hold its text");
        assert!(svg.contains(">5,000,000</text>"));
        assert!(tags_balance(&svg));
    }
}
