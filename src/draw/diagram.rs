//! Drawings made on the server as inline SVG: text measuring and wrapping, and the workflow
//! diagram laid out in layers (the longest path from the initial state gives the row; actions
//! that go back up are drawn on the left, on lanes of their own).
//!
//! Pages may not carry `style=` attributes, so everything here uses presentation attributes.

use std::collections::HashMap;
use std::fmt::Write;

use serde::Serialize;

use crate::domain::definition::{By, DurationSpec, WorkflowDefinition};
use crate::domain::role::{Role, Scope};
use crate::domain::text::Lang;

/// The fonts every drawing asks for (Chinese first, then a generic fallback).
pub const FONTS: &str =
    "system-ui, 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', 'WenQuanYi Micro Hei', sans-serif";

/// Escapes text for SVG/XML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6 | 0x2014 | 0x2026 | 0x201C | 0x201D)
}

/// The width of a line of text at a font size: Chinese characters take about 1em, Latin about
/// 0.55em (capitals a little more, spaces less). Deliberately generous so text stays inside.
pub fn text_width(s: &str, size: f64) -> f64 {
    s.chars()
        .map(|c| {
            if is_wide(c) {
                1.0
            } else if c == ' ' {
                0.32
            } else if c.is_ascii_uppercase() || matches!(c, 'm' | 'w' | 'M' | 'W' | '@' | '%') {
                0.72
            } else if matches!(c, 'i' | 'l' | 'j' | '.' | ',' | ';' | ':' | '\'' | '|' | '!') {
                0.3
            } else {
                0.58
            }
        })
        .sum::<f64>()
        * size
}

/// Chinese punctuation that may not begin a line.
fn closing(c: char) -> bool {
    matches!(c, '，' | '。' | '；' | '、' | '）' | '：' | '”' | '》' | '！' | '？' | ',' | '.' | ';' | ':' | ')')
}

/// Where the last allowed line break of `line` is (a byte index, the next line starting there).
fn break_at(line: &str) -> Option<usize> {
    let mut best = None;
    let mut prev: Option<char> = None;
    for (i, c) in line.char_indices() {
        if let Some(p) = prev {
            let after_gap = matches!(p, ' ' | '-' | '/') || (is_wide(p) && !matches!(p, '（' | '“' | '《'));
            if (after_gap || is_wide(c)) && !closing(c) && c != ' ' {
                best = Some(i);
            }
        }
        prev = Some(c);
    }
    best
}

/// Breaks text into lines no wider than `max` (between words, or between Chinese characters);
/// a word longer than a line is cut.
pub fn wrap(s: &str, size: f64, max: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for c in s.chars() {
        if line.is_empty() && c == ' ' {
            continue;
        }
        line.push(c);
        while text_width(line.trim_end(), size) > max && line.chars().count() > 1 {
            let rest = match break_at(&line) {
                Some(at) => line.split_off(at),
                // A word wider than the line: cut it before its last character.
                None => line.pop().map(String::from).unwrap_or_default(),
            };
            lines.push(line.trim_end().to_string());
            line = rest.trim_start().to_string();
        }
    }
    if !line.trim().is_empty() || lines.is_empty() {
        lines.push(line.trim_end().to_string());
    }
    lines
}

/// Like [`wrap`], but with lines of even length (no lone character on the last line).
pub fn wrap_even(s: &str, size: f64, max: f64) -> Vec<String> {
    let lines = wrap(s, size, max);
    if lines.len() < 2 {
        return lines;
    }
    // Never narrower than the widest word, so evening out the lines does not cut a word.
    let word =
        s.split_whitespace().filter(|w| !w.chars().any(is_wide)).map(|w| text_width(w, size)).fold(0.0, f64::max);
    let (mut lo, mut hi) = ((max / lines.len() as f64).max(word.min(max)), max);
    for _ in 0..12 {
        let mid = (lo + hi) / 2.0;
        if wrap(s, size, mid).len() > lines.len() { lo = mid } else { hi = mid }
    }
    wrap(s, size, hi)
}

/// A rectangle of the drawing (x, y = top left).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    /// Whether two rectangles overlap, with `pad` of free space required between them.
    pub fn overlaps(&self, o: &Rect, pad: f64) -> bool {
        self.x < o.x + o.w + pad
            && o.x < self.x + self.w + pad
            && self.y < o.y + o.h + pad
            && o.y < self.y + self.h + pad
    }
}

// ---------------------------------------------------------------------------------------------
// What a workflow says, in words: shared by the drawing and the table beneath it.

/// A role's name in a language.
pub fn role_label(role: Role, lang: Lang) -> &'static str {
    // In a workflow the enterprise acts as the applicant.
    let (zh, en) = if role == Role::Enterprise { ("申请企业", "Applicant") } else { role.names() };
    if lang == Lang::En { en } else { zh }
}

fn scope_label(scope: Scope, lang: Lang) -> &'static str {
    let (zh, en) = match scope {
        Scope::District => ("县（市、区）", "district"),
        Scope::City => ("市级", "city"),
        Scope::Province => ("省级", "province"),
        Scope::Any => ("不限", "any level"),
    };
    if lang == Lang::En { en } else { zh }
}

fn tr(lang: Lang, zh: &str, en: &str) -> String {
    if lang == Lang::En { en.to_string() } else { zh.to_string() }
}

/// A duration in words ("5 个工作日", "3 months").
pub fn duration_label(spec: &DurationSpec, lang: Lang) -> String {
    let en = lang == Lang::En;
    let plural = |n: i64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    match spec {
        DurationSpec::Fixed(s) => {
            let mut parts = Vec::new();
            if s.months > 0 {
                let m = i64::from(s.months);
                parts.push(if en { plural(m, "month", "months") } else { format!("{m} 个月") });
            }
            if s.working_days > 0 {
                let d = i64::from(s.working_days);
                parts.push(if en { plural(d, "working day", "working days") } else { format!("{d} 个工作日") });
            }
            let secs = s.fixed.num_seconds();
            if secs > 0 {
                parts.push(match (secs % 86_400 == 0, secs % 3_600 == 0) {
                    (true, _) if en => plural(secs / 86_400, "day", "days"),
                    (true, _) => format!("{} 天", secs / 86_400),
                    (false, true) if en => plural(secs / 3_600, "hour", "hours"),
                    (false, true) => format!("{} 小时", secs / 3_600),
                    _ if en => plural(secs, "second", "seconds"),
                    _ => format!("{secs} 秒"),
                });
            }
            parts.join(if en { " + " } else { "又" })
        }
        DurationSpec::Days(_) => tr(lang, "按申请内容计算的天数", "days computed from the form"),
        DurationSpec::WorkingDays(_) => tr(lang, "按申请内容计算的工作日", "working days computed from the form"),
    }
}

/// One action of a state, in words.
#[derive(Debug, Clone, Serialize)]
pub struct ActionInfo {
    pub name: String,
    pub title: String,
    pub to: String,
    pub to_title: String,
    /// Who takes it: the applicant, a role (with its level) or the system.
    pub who: String,
    pub quorum: Option<u32>,
    /// "after 5 working days" when the state's timer takes this action.
    pub after: Option<String>,
    /// Whether it goes back to a state met earlier on the way from the initial state.
    pub back: bool,
}

/// One state of a workflow, in words.
#[derive(Debug, Clone, Serialize)]
pub struct StateInfo {
    pub name: String,
    pub title: String,
    /// The role (and level) of the staff who work it, if any.
    pub assignee: Option<String>,
    pub initial: bool,
    #[serde(rename = "final")]
    pub is_final: bool,
    pub editable: bool,
    /// "5 个工作日" when the state has a time limit.
    pub timer: Option<String>,
    pub actions: Vec<ActionInfo>,
}

/// The states and actions of a definition in words, in the definition's order.
pub fn describe(def: &WorkflowDefinition, lang: Lang) -> Vec<StateInfo> {
    let back = back_edges(def);
    def.states()
        .map(|st| {
            let assignee =
                st.assignee.as_ref().map(|a| format!("{} · {}", role_label(a.role, lang), scope_label(a.scope, lang)));
            let timer = st.timeout.as_ref().map(|t| duration_label(&t.after, lang));
            let actions = st
                .actions
                .values()
                .map(|a| {
                    let who = match a.by {
                        By::Applicant => tr(lang, "申请企业", "Applicant"),
                        By::System => tr(lang, "系统", "System"),
                        By::Role(r) => role_label(r, lang).to_string(),
                        By::Assignee => assignee.clone().unwrap_or_else(|| tr(lang, "经办人", "Assignee")),
                    };
                    let after = st
                        .timeout
                        .as_ref()
                        .filter(|t| t.action.as_deref() == Some(a.name.as_str()))
                        .map(|t| duration_label(&t.after, lang));
                    ActionInfo {
                        name: a.name.clone(),
                        title: a.title.as_ref().map_or_else(|| a.name.clone(), |t| t.get(lang).to_string()),
                        to: a.to.clone(),
                        to_title: def.state(&a.to).map_or_else(|| a.to.clone(), |s| s.label(lang)),
                        who,
                        quorum: a.quorum,
                        after,
                        back: back.contains(&(st.name.clone(), a.name.clone())),
                    }
                })
                .collect();
            StateInfo {
                name: st.name.clone(),
                title: st.label(lang),
                assignee,
                initial: st.name == def.initial().name,
                is_final: st.is_final,
                editable: st.editable.any(),
                timer,
                actions,
            }
        })
        .collect()
}

/// The actions (state, action) that lead back to a state still open on a depth-first walk from
/// the initial state (then from any state not reached), taking actions in their written order.
fn back_edges(def: &WorkflowDefinition) -> std::collections::HashSet<(String, String)> {
    let names: Vec<&str> = def.states().map(|s| s.name.as_str()).collect();
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    // 0 = not seen, 1 = on the stack, 2 = done.
    let mut mark = vec![0u8; names.len()];
    let mut back = std::collections::HashSet::new();
    let roots = std::iter::once(def.initial().name.as_str()).chain(names.iter().copied());
    for root in roots {
        let Some(&r) = index.get(root) else { continue };
        if mark[r] != 0 {
            continue;
        }
        // An explicit stack of (state, next action index) keeps deep definitions off the call stack.
        let mut stack: Vec<(usize, usize)> = vec![(r, 0)];
        mark[r] = 1;
        while let Some(top) = stack.last_mut() {
            let (s, i) = *top;
            let Some(st) = def.state(names[s]) else { break };
            match st.actions.values().nth(i) {
                Some(a) => {
                    top.1 += 1;
                    let Some(&t) = index.get(a.to.as_str()) else { continue };
                    match mark[t] {
                        0 => {
                            mark[t] = 1;
                            stack.push((t, 0));
                        }
                        1 => {
                            back.insert((st.name.clone(), a.name.clone()));
                        }
                        _ => {}
                    }
                }
                None => {
                    mark[s] = 2;
                    stack.pop();
                }
            }
        }
    }
    back
}

// ---------------------------------------------------------------------------------------------
// The layout.

const TITLE_SIZE: f64 = 14.0;
const SMALL: f64 = 12.0;
const LINE: f64 = 16.0;
const BOX_MAX_TEXT: f64 = 220.0;
/// Bold text is about this much wider.
const BOLD: f64 = 1.15;
const BOX_MIN_W: f64 = 132.0;
const PAD_X: f64 = 12.0;
const GAP_X: f64 = 36.0;
const DUMMY_W: f64 = 14.0;
const LABEL_MAX_TEXT: f64 = 168.0;
const LANE: f64 = 12.0;
/// Free space between labels side by side in a band.
const SLOT_GAP: f64 = 10.0;
/// Space above a band of labels (arrows leaving their boxes) and below it (arrows arriving).
const UPPER: f64 = 26.0;
const LOWER: f64 = 30.0;
const MARGIN: f64 = 16.0;
const TOP: f64 = 56.0;
const INK: &str = "#1d2733";
const MUTED: &str = "#4a5562";
const BACK: &str = "#8a4b00";

/// A laid-out diagram: the SVG and where its boxes and labels went (for tests and checks).
#[derive(Debug, Clone)]
pub struct Diagram {
    pub svg: String,
    pub width: f64,
    pub height: f64,
    /// One box per state, by state name.
    pub boxes: Vec<(String, Rect)>,
    /// The action labels, by (state, action).
    pub labels: Vec<((String, String), Rect)>,
}

#[derive(Debug, Clone)]
struct Node {
    /// The state's index, or `None` for a point a long arrow passes through.
    state: Option<usize>,
    layer: usize,
    w: f64,
    h: f64,
    x: f64,
}

#[derive(Debug, Clone)]
struct Edge {
    from: usize,
    to: usize,
    state: usize,
    action: usize,
    back: bool,
    /// Node indices from the source box to the target box (pass-through points between).
    path: Vec<usize>,
    label: Vec<String>,
    /// How many lines of the label are the action's title (written bold).
    bold: usize,
    label_w: f64,
    label_h: f64,
    timed: bool,
    /// The line the clock goes in front of (the first line of "after 5 working days").
    clock_line: Option<usize>,
}

struct Label {
    edge: usize,
    rect: Rect,
}

/// Centres for things of `widths` in a line, in this order, as near as they can be to `want`
/// with at least `gap` between neighbours (the mean of packing from the left and from the right).
fn spread(want: &[f64], widths: &[f64], gap: f64) -> Vec<f64> {
    let sep = |a: usize, b: usize| (widths[a] + widths[b]) / 2.0 + gap;
    let mut left = want.to_vec();
    for i in 1..want.len() {
        left[i] = left[i].max(left[i - 1] + sep(i - 1, i));
    }
    let mut right = want.to_vec();
    for i in (0..want.len().saturating_sub(1)).rev() {
        right[i] = right[i].min(right[i + 1] - sep(i, i + 1));
    }
    let mut xs: Vec<f64> = left.iter().zip(&right).map(|(a, b)| (a + b) / 2.0).collect();
    for i in 1..xs.len() {
        xs[i] = xs[i].max(xs[i - 1] + sep(i - 1, i));
    }
    xs
}

/// The graph being laid out: the boxes and the points long arrows pass through, the arrows
/// between them, and the rows they are in.
struct Layout {
    /// How many states there are: node `i` is state `i` below this, a pass-through point above.
    states: usize,
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    /// The nodes of each layer, from the left.
    rows: Vec<Vec<usize>>,
    /// Each node's neighbours along the forward arrows, in the row above and in the row below.
    up: Vec<Vec<usize>>,
    down: Vec<Vec<usize>>,
}

impl Layout {
    /// Whether node `i` is the first box in its row.
    fn first_in_row(&self, i: usize) -> bool {
        self.rows[self.nodes[i].layer].iter().find(|&&v| self.nodes[v].state.is_some()) == Some(&i)
    }

    /// Whether node `i` is the last box in its row.
    fn last_in_row(&self, i: usize) -> bool {
        self.rows[self.nodes[i].layer].iter().rev().find(|&&v| self.nodes[v].state.is_some()) == Some(&i)
    }

    /// Where node `i`'s box is, as things stand.
    fn box_at(&self, i: usize, heights: &Heights) -> Rect {
        let v = &self.nodes[i];
        Rect { x: v.x - v.w / 2.0, y: heights.tops[v.layer], w: v.w, h: v.h }
    }
}

/// The slots the forward arrows take in the bands between the rows.
struct Bands {
    /// Where each arrow segment crosses the band below its row, by (edge, segment).
    slot: HashMap<(usize, usize), f64>,
    /// How tall the band below each row is.
    h: Vec<f64>,
}

/// Where the rows are from the top.
struct Heights {
    tops: Vec<f64>,
    row_h: Vec<f64>,
}

impl Heights {
    /// The top of the band below row `r`.
    fn band_top(&self, r: usize) -> f64 {
        self.tops[r] + self.row_h[r] + UPPER
    }
}

/// Where the forward arrows leave and enter their boxes, by edge.
struct Ports {
    exit_x: HashMap<usize, f64>,
    entry_x: HashMap<usize, f64>,
}

/// How far the boxes, the forward labels and the slots reach to the left and to the right.
struct Extent {
    min: f64,
    max: f64,
}

/// The arrows going back and their lanes.
struct Backs {
    /// (edge, right side?, leaves from the side (not the top)?), in the order of their lanes.
    list: Vec<(usize, bool, bool)>,
    /// Each arrow's lane, counted outwards on its side.
    lane_of: HashMap<usize, usize>,
    /// How many lanes there are on the left and on the right.
    n_left: f64,
    n_right: f64,
}

impl Backs {
    /// The x of back arrow `i`'s lane, given where the lanes on the right begin.
    fn lane_x(&self, i: usize, right: bool, right_edge: f64) -> f64 {
        let k = self.lane_of[&i] as f64;
        if right { right_edge + LANE * k + LANE / 2.0 } else { MARGIN + self.n_left * LANE - LANE * k - LANE / 2.0 }
    }
}

/// Where the back arrows leave and enter their boxes.
struct BackPorts {
    side_entries: HashMap<(usize, bool), Vec<usize>>,
    top_entries: HashMap<usize, Vec<usize>>,
    /// Where each back arrow leaves: (x on the box, y of the line, whether from the side).
    starts: HashMap<usize, (f64, f64, bool)>,
}

/// The labels of the back arrows, before the shift.
struct BackLabels {
    /// (edge, right side?, where).
    rects: Vec<(usize, bool, Rect)>,
    /// How far they reach out past the rest on the left and on the right.
    left_room: f64,
    right_room: f64,
}

/// The drawing once everything has moved right.
struct Frame {
    /// How far everything moved.
    shift: f64,
    /// One box per state, where it is drawn.
    boxes: Vec<Rect>,
    /// Where the lanes on the right begin: past the rest and the back labels on the right.
    right: f64,
}

/// Lays a definition out and draws it.
pub fn diagram(def: &WorkflowDefinition, lang: Lang) -> Diagram {
    let info = describe(def, lang);
    let initial = info.iter().position(|s| s.initial).unwrap_or(0);

    // The boxes and the arrows, in layers and rows, then in columns.
    let (mut nodes, title_lines) = state_boxes(&info);
    let mut edges = arrows(&info, lang);
    let order = layers(&mut nodes, &edges, initial);
    pass_through(&mut nodes, &mut edges);
    let mut layout = rows(nodes, edges, &order, info.len());
    let first_labels = first_labels(&layout);
    let eff_w = label_band_widths(&layout, &first_labels);
    columns(&mut layout, &eff_w);

    // The forward arrows: their slots in the bands, the rows from the top, the ports.
    let mut bands = bands(&layout);
    let heights = heights(&layout, &bands);
    let mut labels = forward_labels(&layout, &bands, &heights);
    let mut ports = ports(&layout, &first_labels, &bands);

    // The back arrows: their lanes, ports and labels; then everything moves right to fit them.
    let extent = extent(&layout, &labels, &bands);
    let backs = back_lanes(&layout, &extent);
    let back_ports = back_ports(&layout, &heights, &backs);
    let back_labels = back_labels(&layout, &backs, &back_ports, &extent);
    let x = MARGIN + backs.n_left * LANE + back_labels.left_room - extent.min;
    shift(&mut layout, &mut labels, &mut ports, &mut bands, x);
    let frame = Frame {
        shift: x,
        boxes: (0..layout.states).map(|i| layout.box_at(i, &heights)).collect(),
        right: extent.max + x + back_labels.right_room,
    };
    let back_paths = back_paths(&layout, &backs, &back_ports, &frame);
    for (i, _, mut rect) in back_labels.rects {
        rect.x += frame.shift;
        labels.push(Label { edge: i, rect });
    }
    let (width, height) = size(&frame, &backs, &labels);

    // Drawing.
    let mut out = svg_open(def, lang, &info, layout.edges.len(), (width, height));
    start_mark(&mut out, frame.boxes[initial], lang);
    forward_arrows(&mut out, &layout, &bands, &heights, &ports);
    back_arrows(&mut out, &layout.edges, &back_paths);
    let boxes = draw_boxes(&mut out, &info, &frame.boxes, &title_lines);
    let labels = draw_labels(&mut out, &info, &layout.edges, &labels);
    out.push_str("</svg>\n");
    Diagram { svg: out, width, height, boxes, labels }
}

/// Boxes: the title wrapped, the assignee and the timer beneath.
fn state_boxes(info: &[StateInfo]) -> (Vec<Node>, Vec<Vec<String>>) {
    let mut title_lines = Vec::with_capacity(info.len());
    let mut nodes: Vec<Node> = Vec::new();
    for s in info {
        let lines = wrap_even(&s.title, TITLE_SIZE * BOLD, BOX_MAX_TEXT);
        let mut w = lines.iter().map(|l| text_width(l, TITLE_SIZE) * BOLD).fold(0.0, f64::max);
        let mut h = 14.0 + lines.len() as f64 * (TITLE_SIZE + 4.0);
        if let Some(a) = &s.assignee {
            w = w.max(text_width(a, SMALL));
            h += LINE;
        }
        if let Some(t) = &s.timer {
            w = w.max(text_width(t, SMALL) + 18.0);
            h += LINE;
        }
        if s.is_final {
            h += 4.0;
        }
        title_lines.push(lines);
        nodes.push(Node {
            state: Some(nodes.len()),
            layer: 0,
            w: (w + 2.0 * PAD_X).max(BOX_MIN_W).ceil(),
            h: h.ceil(),
            x: 0.0,
        });
    }
    (nodes, title_lines)
}

/// Arrows, with their labels.
fn arrows(info: &[StateInfo], lang: Lang) -> Vec<Edge> {
    let index: HashMap<&str, usize> = info.iter().enumerate().map(|(i, s)| (s.name.as_str(), i)).collect();
    let mut edges: Vec<Edge> = Vec::new();
    for (si, s) in info.iter().enumerate() {
        for (ai, a) in s.actions.iter().enumerate() {
            let Some(&to) = index.get(a.to.as_str()) else { continue };
            let mut label = wrap_even(&a.title, SMALL * BOLD, LABEL_MAX_TEXT);
            let bold = label.len();
            let mut who = a.who.clone();
            if let Some(q) = a.quorum {
                who.push_str(&if lang == Lang::En { format!(" · {q} votes") } else { format!(" · 须 {q} 票") });
            }
            label.extend(wrap(&who, SMALL, LABEL_MAX_TEXT));
            let clock_line = a.after.as_ref().map(|_| label.len());
            if let Some(after) = &a.after {
                label.extend(wrap_even(
                    &if lang == Lang::En { format!("after {after}") } else { format!("{after}后自动") },
                    SMALL,
                    LABEL_MAX_TEXT - 16.0,
                ));
            }
            let timed = a.after.is_some();
            let label_w = label
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    text_width(l, SMALL) * if i < bold { BOLD } else { 1.0 }
                        + if clock_line == Some(i) { 16.0 } else { 0.0 }
                })
                .fold(0.0, f64::max)
                + 10.0;
            let label_h = label.len() as f64 * LINE + 4.0;
            edges.push(Edge {
                from: si,
                to,
                state: si,
                action: ai,
                back: a.back || to == si,
                path: Vec::new(),
                label,
                bold,
                label_w: label_w.ceil(),
                label_h,
                timed,
                clock_line,
            });
        }
    }
    edges
}

/// Layers: the longest path from the initial state over the forward arrows (a topological
/// order first, by repeatedly taking states with no forward arrow left coming in). Gives that
/// order back.
fn layers(nodes: &mut [Node], edges: &[Edge], initial: usize) -> Vec<usize> {
    let n = nodes.len();
    let mut indeg = vec![0usize; n];
    for e in edges.iter().filter(|e| !e.back) {
        indeg[e.to] += 1;
    }
    let mut order = Vec::with_capacity(n);
    let mut ready: Vec<usize> = std::iter::once(initial).chain(0..n).filter(|&i| indeg[i] == 0).collect();
    ready.dedup();
    let mut seen = vec![false; n];
    while let Some(v) = ready.first().copied() {
        ready.remove(0);
        if seen[v] {
            continue;
        }
        seen[v] = true;
        order.push(v);
        for e in edges.iter().filter(|e| !e.back && e.from == v) {
            indeg[e.to] -= 1;
            if indeg[e.to] == 0 {
                ready.push(e.to);
            }
        }
    }
    // Anything left (cannot happen once back arrows are removed) goes after the rest.
    order.extend((0..n).filter(|&i| !seen[i]));
    for &v in &order {
        let l = nodes[v].layer;
        for e in edges.iter().filter(|e| !e.back && e.from == v) {
            if nodes[e.to].layer < l + 1 {
                nodes[e.to].layer = l + 1;
            }
        }
    }
    order
}

/// Long forward arrows pass through a point in every layer they cross.
fn pass_through(nodes: &mut Vec<Node>, edges: &mut [Edge]) {
    for e in edges {
        e.path.push(e.from);
        if !e.back {
            for layer in nodes[e.from].layer + 1..nodes[e.to].layer {
                nodes.push(Node { state: None, layer, w: DUMMY_W, h: 0.0, x: 0.0 });
                e.path.push(nodes.len() - 1);
            }
        }
        e.path.push(e.to);
    }
}

/// Rows, first in the order the states were met, then sorted a few times by the mean position
/// of their neighbours above (and below) to untangle the arrows.
fn rows(nodes: Vec<Node>, edges: Vec<Edge>, order: &[usize], states: usize) -> Layout {
    let layers = nodes.iter().map(|v| v.layer).max().unwrap_or(0) + 1;
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); layers];
    for &v in order {
        rows[nodes[v].layer].push(v);
    }
    for v in states..nodes.len() {
        rows[nodes[v].layer].push(v);
    }
    let mut up: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    let mut down: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for e in edges.iter().filter(|e| !e.back) {
        for pair in e.path.windows(2) {
            down[pair[0]].push(pair[1]);
            up[pair[1]].push(pair[0]);
        }
    }
    let mut pos = vec![0.0_f64; nodes.len()];
    let set_pos = |rows: &Vec<Vec<usize>>, pos: &mut Vec<f64>| {
        for row in rows {
            for (i, &v) in row.iter().enumerate() {
                pos[v] = i as f64;
            }
        }
    };
    set_pos(&rows, &mut pos);
    for sweep in 0..4 {
        let downward = sweep % 2 == 0;
        let range: Vec<usize> =
            if downward { (1..layers).collect() } else { (0..layers.saturating_sub(1)).rev().collect() };
        for r in range {
            let nb = if downward { &up } else { &down };
            let mut keyed: Vec<(f64, usize)> = rows[r]
                .iter()
                .map(|&v| {
                    let k = if nb[v].is_empty() {
                        pos[v]
                    } else {
                        nb[v].iter().map(|&u| pos[u]).sum::<f64>() / nb[v].len() as f64
                    };
                    (k, v)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
            rows[r] = keyed.into_iter().map(|(_, v)| v).collect();
            for (i, &v) in rows[r].iter().enumerate() {
                pos[v] = i as f64;
            }
        }
    }
    Layout { states, nodes, edges, rows, up, down }
}

/// The forward arrows leaving each node (whose labels make up the band beneath it).
fn first_labels(layout: &Layout) -> Vec<Vec<usize>> {
    let mut first_labels: Vec<Vec<usize>> = vec![Vec::new(); layout.nodes.len()];
    for (i, e) in layout.edges.iter().enumerate().filter(|(_, e)| !e.back) {
        first_labels[e.from].push(i);
    }
    first_labels
}

/// The labels of the arrows leaving a row sit side by side in a band in the gap beneath it,
/// each arrow running straight down through its own label. A box is spaced as wide as the
/// labels of its arrows (or its own width, if wider), so its band stays beneath it.
fn label_band_widths(layout: &Layout, first_labels: &[Vec<usize>]) -> Vec<f64> {
    let (nodes, edges) = (&layout.nodes, &layout.edges);
    (0..nodes.len())
        .map(|v| {
            let ls = &first_labels[v];
            let band = ls.iter().map(|&i| edges[i].label_w).sum::<f64>() + SLOT_GAP * ls.len().saturating_sub(1) as f64;
            nodes[v].w.max(band)
        })
        .collect()
}

/// Columns: each row packed from the left, then pulled towards its neighbours' centres.
fn columns(layout: &mut Layout, eff_w: &[f64]) {
    let Layout { ref mut nodes, ref rows, ref up, ref down, .. } = *layout;
    let layers = rows.len();
    for row in rows {
        let mut x = 0.0;
        for &v in row {
            nodes[v].x = x + eff_w[v] / 2.0;
            x += eff_w[v] + GAP_X;
        }
    }
    let widest = rows.iter().map(|r| r.iter().map(|&v| eff_w[v] + GAP_X).sum::<f64>()).fold(0.0, f64::max);
    for row in rows {
        let w: f64 = row.iter().map(|&v| eff_w[v] + GAP_X).sum();
        for &v in row {
            nodes[v].x += (widest - w) / 2.0;
        }
    }
    for pass in 0..3 {
        let downward = pass != 1;
        let range: Vec<usize> =
            if downward { (1..layers).collect() } else { (0..layers.saturating_sub(1)).rev().collect() };
        for r in range {
            let nb = if downward { up } else { down };
            let row = &rows[r];
            let want: Vec<f64> = row
                .iter()
                .map(|&v| {
                    if nb[v].is_empty() {
                        nodes[v].x
                    } else {
                        nb[v].iter().map(|&u| nodes[u].x).sum::<f64>() / nb[v].len() as f64
                    }
                })
                .collect();
            let widths: Vec<f64> = row.iter().map(|&v| eff_w[v]).collect();
            let xs = spread(&want, &widths, GAP_X);
            for (i, &v) in row.iter().enumerate() {
                nodes[v].x = xs[i];
            }
        }
    }
}

/// The bands: in the gap below row r, one slot per arrow segment leaving the row (the label
/// for an arrow's first segment, a narrow slot for an arrow only passing through).
fn bands(layout: &Layout) -> Bands {
    let (nodes, edges) = (&layout.nodes, &layout.edges);
    let mut slot: HashMap<(usize, usize), f64> = HashMap::new();
    let mut band_h = vec![0.0_f64; layout.rows.len()];
    for (r, bh) in band_h.iter_mut().enumerate() {
        let mut items: Vec<(f64, usize, usize, f64)> = Vec::new();
        for (i, e) in edges.iter().enumerate().filter(|(_, e)| !e.back) {
            for (k, pair) in e.path.windows(2).enumerate() {
                let (a, b) = (&nodes[pair[0]], &nodes[pair[1]]);
                if a.layer != r {
                    continue;
                }
                if k == 0 {
                    items.push(((a.x + b.x) / 2.0, i, k, e.label_w));
                    *bh = bh.max(e.label_h);
                } else {
                    items.push((a.x, i, k, DUMMY_W));
                }
            }
        }
        items.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let want: Vec<f64> = items.iter().map(|t| t.0).collect();
        let widths: Vec<f64> = items.iter().map(|t| t.3).collect();
        for (t, x) in items.iter().zip(spread(&want, &widths, SLOT_GAP)) {
            slot.insert((t.1, t.2), x);
        }
    }
    Bands { slot, h: band_h }
}

/// Rows from the top: each row as tall as its tallest box, the gap below it as tall as its band.
fn heights(layout: &Layout, bands: &Bands) -> Heights {
    let nodes = &layout.nodes;
    let row_h: Vec<f64> = layout.rows.iter().map(|r| r.iter().map(|&v| nodes[v].h).fold(0.0, f64::max)).collect();
    let mut tops = Vec::with_capacity(row_h.len());
    let mut y = TOP;
    for (r, h) in row_h.iter().enumerate() {
        tops.push(y);
        y += h + UPPER + bands.h[r] + LOWER;
    }
    Heights { tops, row_h }
}

/// The forward arrows' labels, each in its slot at the top of the band below its row.
fn forward_labels(layout: &Layout, bands: &Bands, heights: &Heights) -> Vec<Label> {
    let mut labels: Vec<Label> = Vec::new();
    for (i, e) in layout.edges.iter().enumerate().filter(|(_, e)| !e.back) {
        let r = layout.nodes[e.from].layer;
        let x = bands.slot[&(i, 0)];
        labels.push(Label {
            edge: i,
            rect: Rect { x: x - e.label_w / 2.0, y: heights.band_top(r), w: e.label_w, h: e.label_h },
        });
    }
    labels
}

/// Where the arrows leave and enter the boxes: spread along the bottom and the top, in the
/// order of their slots so that they do not cross there.
fn ports(layout: &Layout, first_labels: &[Vec<usize>], bands: &Bands) -> Ports {
    let (nodes, edges, slot) = (&layout.nodes, &layout.edges, &bands.slot);
    let mut exit_x: HashMap<usize, f64> = HashMap::new();
    let mut entry_x: HashMap<usize, f64> = HashMap::new();
    for v in 0..layout.states {
        let spread_on = |mut list: Vec<(f64, usize)>| -> Vec<(usize, f64)> {
            list.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let k = list.len();
            let step = if k > 1 { ((nodes[v].w - 28.0) / (k - 1) as f64).min(20.0) } else { 0.0 };
            list.iter()
                .enumerate()
                .map(|(j, t)| (t.1, nodes[v].x + (j as f64 - (k as f64 - 1.0) / 2.0) * step))
                .collect()
        };
        let outs: Vec<(f64, usize)> = first_labels[v].iter().map(|&i| (slot[&(i, 0)], i)).collect();
        exit_x.extend(spread_on(outs));
        let ins: Vec<(f64, usize)> = edges
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.back && e.to == v)
            .map(|(i, e)| (slot[&(i, e.path.len() - 2)], i))
            .collect();
        entry_x.extend(spread_on(ins));
    }
    Ports { exit_x, entry_x }
}

/// How far the boxes, the forward labels and the slots reach, before the shift.
fn extent(layout: &Layout, labels: &[Label], bands: &Bands) -> Extent {
    let min = layout
        .nodes
        .iter()
        .map(|v| v.x - v.w / 2.0)
        .chain(labels.iter().map(|l| l.rect.x))
        .chain(bands.slot.values().map(|x| x - DUMMY_W / 2.0))
        .fold(f64::MAX, f64::min)
        .min(f64::MAX / 2.0);
    let max = layout
        .nodes
        .iter()
        .map(|v| v.x + v.w / 2.0)
        .chain(labels.iter().map(|l| l.rect.x + l.rect.w))
        .chain(bands.slot.values().map(|x| x + DUMMY_W / 2.0))
        .fold(0.0, f64::max);
    Extent { min, max }
}

/// Arrows going back run in lanes of their own beside the drawing: on the left from a box
/// first in its row, on the right from a box last in its row (from any other box, out of its
/// top to the nearer side). Each label sits on the arrow's line where it leaves its box.
fn back_lanes(layout: &Layout, extent: &Extent) -> Backs {
    let (nodes, edges) = (&layout.nodes, &layout.edges);
    let mut list: Vec<(usize, bool, bool)> = (0..edges.len())
        .filter(|&i| edges[i].back)
        .map(|i| {
            let s = edges[i].from;
            if layout.first_in_row(s) {
                (i, false, true)
            } else if layout.last_in_row(s) {
                (i, true, true)
            } else {
                (i, nodes[s].x > (extent.min + extent.max) / 2.0, false)
            }
        })
        .collect();
    list.sort_by_key(|&(i, right, _)| (right, nodes[edges[i].from].layer.abs_diff(nodes[edges[i].to].layer), i));
    let lane_of: HashMap<usize, usize> = {
        let mut m = HashMap::new();
        let (mut nl, mut nr) = (0, 0);
        for &(i, right, _) in &list {
            let c = if right { &mut nr } else { &mut nl };
            m.insert(i, *c);
            *c += 1;
        }
        m
    };
    let (n_left, n_right) = (list.iter().filter(|b| !b.1).count() as f64, list.iter().filter(|b| b.1).count() as f64);
    Backs { list, lane_of, n_left, n_right }
}

/// How high back arrow `i`'s port is on a side of box `b`, among the arrows of `list` there.
fn port_y(list: &[usize], i: usize, b: Rect) -> f64 {
    let q = list.iter().position(|&x| x == i).unwrap_or(0);
    b.y + b.h * (q as f64 + 1.0) / (list.len() as f64 + 1.0)
}

/// Ports on the sides of boxes: exits first; a box with exits on a side is entered from the top.
fn back_ports(layout: &Layout, heights: &Heights, backs: &Backs) -> BackPorts {
    let edges = &layout.edges;
    let mut side_exits: HashMap<(usize, bool), Vec<usize>> = HashMap::new();
    for &(i, right, side) in &backs.list {
        if side {
            side_exits.entry((edges[i].from, right)).or_default().push(i);
        }
    }
    let mut side_entries: HashMap<(usize, bool), Vec<usize>> = HashMap::new();
    let mut top_entries: HashMap<usize, Vec<usize>> = HashMap::new();
    for &(i, right, _) in &backs.list {
        let t = edges[i].to;
        let at_end = if right { layout.last_in_row(t) } else { layout.first_in_row(t) };
        if at_end && !side_exits.contains_key(&(t, right)) {
            side_entries.entry((t, right)).or_default().push(i);
        } else {
            top_entries.entry(t).or_default().push(i);
        }
    }
    let mut top_exits = vec![0usize; layout.states];
    // Where each back arrow leaves: (x on the box, y of the line, whether from the side).
    let mut starts: HashMap<usize, (f64, f64, bool)> = HashMap::new();
    for &(i, right, side) in &backs.list {
        let s = edges[i].from;
        let sb = layout.box_at(s, heights);
        if side {
            let y = port_y(&side_exits[&(s, right)], i, sb);
            starts.insert(i, (if right { sb.x + sb.w } else { sb.x }, y, true));
        } else {
            let j = top_exits[s] as f64;
            top_exits[s] += 1;
            let x = if right { sb.x + sb.w - 10.0 - 7.0 * j } else { sb.x + 10.0 + 7.0 * j };
            starts.insert(i, (x, sb.y - 6.0 - 4.0 * j, false));
        }
    }
    BackPorts { side_entries, top_entries, starts }
}

/// Back labels, before the shift: beside their box on a side exit, at the edge of the
/// drawing on a top exit; moved outwards past any label already there.
fn back_labels(layout: &Layout, backs: &Backs, ports: &BackPorts, extent: &Extent) -> BackLabels {
    let edges = &layout.edges;
    let mut back_rects: Vec<(usize, bool, Rect)> = Vec::new();
    for &(i, right, side) in &backs.list {
        let (x0, y0, _) = ports.starts[&i];
        let (w, h) = (edges[i].label_w, edges[i].label_h);
        let edge = if side {
            x0
        } else if right {
            extent.max
        } else {
            extent.min
        };
        let mut rect = Rect { x: if right { edge + 8.0 } else { edge - 8.0 - w }, y: y0 - h / 2.0, w, h };
        while let Some(o) = back_rects.iter().filter(|b| b.1 == right && b.2.overlaps(&rect, 4.0)).map(|b| b.2).next() {
            rect.x = if right { o.x + o.w + 6.0 } else { o.x - 6.0 - w };
        }
        back_rects.push((i, right, rect));
    }
    let left_room = back_rects.iter().filter(|b| !b.1).map(|b| extent.min - b.2.x + 6.0).fold(0.0, f64::max);
    let right_room = back_rects.iter().filter(|b| b.1).map(|b| b.2.x + b.2.w - extent.max + 6.0).fold(0.0, f64::max);
    BackLabels { rects: back_rects, left_room, right_room }
}

/// Shift everything right so that the left lanes and their labels fit.
fn shift(layout: &mut Layout, labels: &mut [Label], ports: &mut Ports, bands: &mut Bands, shift: f64) {
    for v in &mut layout.nodes {
        v.x += shift;
    }
    for l in labels {
        l.rect.x += shift;
    }
    for x in ports.exit_x.values_mut().chain(ports.entry_x.values_mut()) {
        *x += shift;
    }
    for v in bands.slot.values_mut() {
        *v += shift;
    }
}

/// The back arrows' lines: out of their box, along their lane, into the side or the top of the
/// box they go back to.
fn back_paths(layout: &Layout, backs: &Backs, ports: &BackPorts, frame: &Frame) -> Vec<(usize, String)> {
    let boxes = &frame.boxes;
    let mut back_paths: Vec<(usize, String)> = Vec::new();
    for &(i, right, _) in &backs.list {
        let e = &layout.edges[i];
        let lx = backs.lane_x(i, right, frame.right);
        let tb = boxes[e.to];
        let (sx, sy, side) = ports.starts[&i];
        let sx = sx + frame.shift;
        let dir = if right { 1.0 } else { -1.0 };
        let r = 8.0;
        let mut d = String::new();
        if side {
            let _ = write!(d, "M{sx:.1},{sy:.1} H{:.1} Q{lx:.1},{sy:.1} {lx:.1},{:.1}", lx - dir * r, sy - r);
        } else {
            let _ = write!(
                d,
                "M{sx:.1},{:.1} V{sy:.1} H{:.1} Q{lx:.1},{sy:.1} {lx:.1},{:.1}",
                boxes[e.from].y,
                lx - dir * r,
                sy - r
            );
        }
        if let Some(list) = ports.side_entries.get(&(e.to, right)) {
            let ty = port_y(list, i, tb);
            let tx = if right { tb.x + tb.w + 1.0 } else { tb.x - 1.0 };
            let _ = write!(d, " V{:.1} Q{lx:.1},{ty:.1} {:.1},{ty:.1} H{tx:.1}", ty + r, lx - dir * r);
        } else {
            let list = &ports.top_entries[&e.to];
            let j = list.iter().position(|&x| x == i).unwrap_or(0) as f64;
            let tx = if right { tb.x + tb.w - 14.0 - 7.0 * j } else { tb.x + 14.0 + 7.0 * j };
            let ty = tb.y - 12.0 - 4.0 * j;
            let _ = write!(
                d,
                " V{:.1} Q{lx:.1},{ty:.1} {:.1},{ty:.1} H{:.1} Q{tx:.1},{ty:.1} {tx:.1},{:.1} V{:.1}",
                ty + r,
                lx - dir * r,
                tx + dir * 6.0,
                ty + 6.0,
                tb.y - 1.0
            );
        }
        back_paths.push((i, d));
    }
    back_paths
}

/// The size of the drawing: the boxes, the labels and the lanes on the right, with a margin.
fn size(frame: &Frame, backs: &Backs, labels: &[Label]) -> (f64, f64) {
    let width = (frame.right + backs.n_right * LANE + MARGIN)
        .max(labels.iter().map(|l| l.rect.x + l.rect.w + MARGIN).fold(0.0, f64::max))
        .ceil();
    let height =
        (frame.boxes.iter().map(|b| b.y + b.h).chain(labels.iter().map(|l| l.rect.y + l.rect.h)).fold(0.0, f64::max)
            + MARGIN)
            .ceil();
    (width, height)
}

/// Drawing: the opening of the SVG, with its title and description, the arrow heads and a white
/// ground.
fn svg_open(def: &WorkflowDefinition, lang: Lang, info: &[StateInfo], transitions: usize, size: (f64, f64)) -> String {
    let (width, height) = size;
    let n = info.len();
    let title = esc(def.title().get(lang));
    let timers = info.iter().filter(|s| s.timer.is_some()).count();
    let desc = if lang == Lang::En {
        format!(
            "Workflow diagram: {} states, {transitions} actions, {timers} time limits. The table below gives the same information.",
            n
        )
    } else {
        format!("流程图：共 {n} 个环节、{transitions} 个操作、{timers} 个时限。下方表格列出相同内容。")
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"workflow-diagram\" viewBox=\"0 0 {width:.0} {height:.0}\" \
         width=\"{width:.0}\" height=\"{height:.0}\" role=\"img\" aria-labelledby=\"wf-title wf-desc\" \
         font-family=\"{FONTS}\" font-size=\"{SMALL}\">\n<title id=\"wf-title\">{title}</title>\n<desc id=\"wf-desc\">{}</desc>\n\
         <defs><marker id=\"wf-arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">\
         <path d=\"M0,0 L10,5 L0,10 z\" fill=\"{INK}\"/></marker>\
         <marker id=\"wf-back\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">\
         <path d=\"M0,0 L10,5 L0,10 z\" fill=\"{BACK}\"/></marker></defs>\n\
         <rect x=\"0\" y=\"0\" width=\"{width:.0}\" height=\"{height:.0}\" fill=\"#ffffff\"/>\n",
        esc(&desc)
    );
    out
}

/// The start mark, above the initial box `ib`.
fn start_mark(out: &mut String, ib: Rect, lang: Lang) {
    let _ = writeln!(
        out,
        "<g class=\"wf-start\"><circle cx=\"{:.1}\" cy=\"16\" r=\"8\" fill=\"{INK}\"/>\
         <line x1=\"{:.1}\" y1=\"24\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{INK}\" stroke-width=\"1.5\" marker-end=\"url(#wf-arrow)\"/>\
         <text x=\"{:.1}\" y=\"20\" fill=\"{INK}\">{}</text></g>",
        ib.x + ib.w / 2.0,
        ib.x + ib.w / 2.0,
        ib.x + ib.w / 2.0,
        ib.y - 2.0,
        ib.x + ib.w / 2.0 + 14.0,
        esc(&tr(lang, "开始", "Start"))
    );
}

/// Forward arrows: down from the box, through the label's slot in the band, into the box below.
fn forward_arrows(out: &mut String, layout: &Layout, bands: &Bands, heights: &Heights, ports: &Ports) {
    let (nodes, tops, row_h) = (&layout.nodes, &heights.tops, &heights.row_h);
    let (exit_x, entry_x) = (&ports.exit_x, &ports.entry_x);
    for (i, e) in layout.edges.iter().enumerate().filter(|(_, e)| !e.back) {
        let mut d = String::new();
        for (k, pair) in e.path.windows(2).enumerate() {
            let (a, b) = (&nodes[pair[0]], &nodes[pair[1]]);
            let g = a.layer;
            let row_bottom = tops[g] + row_h[g];
            if k == 0 {
                let _ = write!(d, "M{:.1},{:.1} V{row_bottom:.1}", exit_x[&i], tops[g] + a.h);
            } else {
                let _ = write!(d, " V{row_bottom:.1}");
            }
            let x1 = if k == 0 { exit_x[&i] } else { a.x };
            let s = bands.slot[&(i, k)];
            let bt = heights.band_top(g);
            let bb = bt + bands.h[g];
            let (x2, y2) = if b.state.is_some() { (entry_x[&i], tops[g + 1] - 1.0) } else { (b.x, tops[g + 1]) };
            let (m1, m2) = ((row_bottom + bt) / 2.0, (bb + y2) / 2.0);
            let _ = write!(
                d,
                " C{x1:.1},{m1:.1} {s:.1},{m1:.1} {s:.1},{bt:.1} V{bb:.1} C{s:.1},{m2:.1} {x2:.1},{m2:.1} {x2:.1},{y2:.1}"
            );
        }
        let dash = if e.timed { " stroke-dasharray=\"6 4\"" } else { "" };
        let _ = writeln!(
            out,
            "<path class=\"wf-edge\" d=\"{d}\" fill=\"none\" stroke=\"{INK}\" stroke-width=\"1.5\"{dash} marker-end=\"url(#wf-arrow)\"/>"
        );
    }
}

/// The back arrows, in their own colour.
fn back_arrows(out: &mut String, edges: &[Edge], back_paths: &[(usize, String)]) {
    for (i, d) in back_paths {
        let dash = if edges[*i].timed { " stroke-dasharray=\"6 4\"" } else { "" };
        let _ = writeln!(
            out,
            "<path class=\"wf-edge wf-back\" d=\"{d}\" fill=\"none\" stroke=\"{BACK}\" stroke-width=\"1.5\"{dash} marker-end=\"url(#wf-back)\"/>"
        );
    }
}

/// Boxes.
fn draw_boxes(
    out: &mut String,
    info: &[StateInfo],
    boxes: &[Rect],
    title_lines: &[Vec<String>],
) -> Vec<(String, Rect)> {
    let mut box_out = Vec::new();
    for (i, s) in info.iter().enumerate() {
        let b = boxes[i];
        let fill = if s.is_final {
            "#e3f1e6"
        } else if s.editable {
            "#fff3d6"
        } else {
            "#e6eefb"
        };
        let _ = write!(
            out,
            "<g class=\"wf-state\" id=\"wf-state-{}\"><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"8\" fill=\"{fill}\" stroke=\"{INK}\" stroke-width=\"{}\"/>",
            esc(&s.name),
            b.x,
            b.y,
            b.w,
            b.h,
            if s.initial { "2.5" } else { "1.2" }
        );
        if s.is_final {
            let _ = write!(
                out,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"5\" fill=\"none\" stroke=\"{INK}\" stroke-width=\"1.2\"/>",
                b.x + 4.0,
                b.y + 4.0,
                b.w - 8.0,
                b.h - 8.0
            );
        }
        let cx = b.x + b.w / 2.0;
        let mut y = b.y + 7.0 + if s.is_final { 2.0 } else { 0.0 };
        for l in &title_lines[i] {
            y += TITLE_SIZE + 4.0;
            let _ = write!(
                out,
                "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"{TITLE_SIZE}\" font-weight=\"bold\" fill=\"{INK}\">{}</text>",
                y - 4.0,
                esc(l)
            );
        }
        if let Some(a) = &s.assignee {
            y += LINE;
            let _ = write!(
                out,
                "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"{MUTED}\">{}</text>",
                y - 3.0,
                esc(a)
            );
        }
        if let Some(t) = &s.timer {
            y += LINE;
            let tw = text_width(t, SMALL) + 16.0;
            let x0 = cx - tw / 2.0;
            out.push_str(&clock(x0 + 6.0, y - 7.0));
            let _ = write!(out, "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"{MUTED}\">{}</text>", x0 + 16.0, y - 3.0, esc(t));
        }
        out.push_str("</g>\n");
        box_out.push((s.name.clone(), b));
    }
    box_out
}

/// Labels last, on a white ground, so they stay readable over the lines.
fn draw_labels(
    out: &mut String,
    info: &[StateInfo],
    edges: &[Edge],
    labels: &[Label],
) -> Vec<((String, String), Rect)> {
    let mut label_out = Vec::new();
    for l in labels {
        let e = &edges[l.edge];
        let r = l.rect;
        let colour = if e.back { BACK } else { INK };
        let _ = write!(
            out,
            "<g class=\"wf-label\"><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"3\" fill=\"#ffffff\" stroke=\"{colour}\" stroke-width=\"0.6\"/>",
            r.x, r.y, r.w, r.h
        );
        for (k, line) in e.label.iter().enumerate() {
            let y = r.y + 2.0 + LINE * (k as f64 + 1.0) - 4.0;
            let mut x = r.x + 5.0;
            if e.clock_line == Some(k) {
                out.push_str(&clock(x + 6.0, y - 4.0));
                x += 16.0;
            }
            let weight = if k < e.bold { " font-weight=\"bold\"" } else { "" };
            let fill = if k < e.bold { colour } else { MUTED };
            let _ = write!(out, "<text x=\"{x:.1}\" y=\"{y:.1}\" fill=\"{fill}\"{weight}>{}</text>", esc(line));
        }
        out.push_str("</g>\n");
        label_out.push(((info[e.state].name.clone(), info[e.state].actions[e.action].name.clone()), r));
    }
    label_out
}

/// A small clock centred at (x, y).
fn clock(x: f64, y: f64) -> String {
    format!(
        "<g class=\"wf-clock\"><circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"5\" fill=\"#ffffff\" stroke=\"{MUTED}\" stroke-width=\"1.2\"/>\
         <path d=\"M{x:.1},{:.1} V{y:.1} H{:.1}\" fill=\"none\" stroke=\"{MUTED}\" stroke-width=\"1.2\"/></g>",
        y - 3.2,
        x + 2.6
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::domain::definition::{Catalogue, SourceFile};
    use crate::domain::expr::ExprEngine;

    const SMALL_FLOW: &str = "\
key: tiny
version: 1
title: {zh: 小流程 <&>, en: Tiny <&> flow}
starts: enterprise
form:
  fields:
    - key: amount
      type: integer
      label: {zh: 金额, en: Amount}
initial: draft
states:
  draft:
    title: {zh: 企业填报, en: Drafting}
    editable: true
    actions:
      submit: {to: review, by: applicant, title: {zh: 提交, en: Submit}}
      withdraw: {to: withdrawn, by: applicant, title: {zh: 撤回, en: Withdraw}}
  review:
    title: {zh: 审核 <甲> & 乙, en: Review <A> & B}
    assignee: {role: reviewer, scope: district}
    timeout: {after: 10 working days, action: expire}
    actions:
      approve: {to: panel, title: {zh: 通过并提交专家组进行评审的一个很长的操作名称, en: Approve and send on to the expert panel for a vote}}
      return: {to: draft, title: {zh: 退回修改, en: Return for revision}}
      expire: {to: rejected, by: system, title: {zh: 超期, en: Expire}}
  panel:
    title: {zh: 专家评审, en: Expert panel}
    assignee: {role: expert, scope: province}
    actions:
      agree: {to: done, quorum: 3, title: {zh: 同意, en: Agree}}
      disagree: {to: rejected, quorum: 3, title: {zh: 不同意, en: Disagree}}
      back: {to: review, title: {zh: 退回审核, en: Back to review}}
  done:
    title: {zh: 已认定, en: Recognised}
    final: true
  rejected:
    title: {zh: 未通过, en: Rejected}
    final: true
  withdrawn:
    title: {zh: 已撤回, en: Withdrawn}
    final: true
";

    fn tiny() -> std::sync::Arc<WorkflowDefinition> {
        let files = [SourceFile { path: "tiny.yaml".into(), contents: SMALL_FLOW.into(), expected_key: None }];
        let cat = Catalogue::build(&files, &ExprEngine::new(), &HashSet::new(), &HashSet::new())
            .unwrap_or_else(|e| panic!("{e:?}"));
        cat.latest("tiny").cloned().expect("tiny is defined")
    }

    /// Checks that every tag is closed in order and every `&` starts an entity.
    fn well_formed(svg: &str) -> Result<usize, String> {
        let mut stack: Vec<String> = Vec::new();
        let mut count = 0;
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            let text = &rest[..start];
            for (i, _) in text.match_indices('&') {
                let ent = &text[i..];
                if !["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"].iter().any(|e| ent.starts_with(e)) {
                    return Err(format!("bare & in {text}"));
                }
            }
            let end = rest[start..].find('>').ok_or("unclosed tag")? + start;
            let tag = &rest[start + 1..end];
            if tag.contains('<') {
                return Err(format!("< inside a tag: {tag}"));
            }
            if let Some(name) = tag.strip_prefix('/') {
                let open = stack.pop().ok_or(format!("stray </{name}>"))?;
                if open != name {
                    return Err(format!("<{open}> closed by </{name}>"));
                }
            } else if !tag.ends_with('/') {
                let name = tag.split_whitespace().next().unwrap_or_default().to_string();
                stack.push(name);
                count += 1;
            } else {
                count += 1;
            }
            rest = &rest[end + 1..];
        }
        if stack.is_empty() { Ok(count) } else { Err(format!("unclosed: {stack:?}")) }
    }

    #[test]
    fn every_state_and_action_is_drawn_without_overlaps() {
        let def = tiny();
        for lang in [Lang::Zh, Lang::En] {
            let d = diagram(&def, lang);
            assert_eq!(d.boxes.len(), 6);
            assert_eq!(d.labels.len(), 8, "one label per action");
            for s in def.states() {
                assert!(d.svg.contains(&esc(&s.label(lang))), "{} missing", s.name);
                for a in s.actions.values() {
                    let title = a.title.as_ref().map(|t| t.get(lang).to_string()).unwrap_or_default();
                    let first = wrap_even(&title, SMALL * BOLD, LABEL_MAX_TEXT).remove(0);
                    assert!(d.svg.contains(&esc(&first)), "{} missing", a.name);
                }
            }
            let all: Vec<Rect> = d.boxes.iter().map(|b| b.1).chain(d.labels.iter().map(|l| l.1)).collect();
            for (i, a) in all.iter().enumerate() {
                assert!(a.x >= 0.0 && a.y >= 0.0 && a.x + a.w <= d.width && a.y + a.h <= d.height, "{a:?} outside");
                for b in &all[i + 1..] {
                    assert!(!a.overlaps(b, 0.0), "{a:?} overlaps {b:?} ({lang:?})");
                }
            }
            well_formed(&d.svg).unwrap_or_else(|e| panic!("{e}\n{}", d.svg));
        }
    }

    /// Every shipped workflow, in both languages: no label on a box or on another label, and
    /// everything inside the drawing.
    #[test]
    fn shipped_workflows_are_drawn_without_overlaps() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let defs = crate::engine::load_definitions(&root.join("workflows"), &root.join("templates"))
            .unwrap_or_else(|e| panic!("the shipped definitions do not load: {e:#?}"));
        let mut drawn = 0;
        for def in defs.catalogue.all() {
            for lang in [Lang::Zh, Lang::En] {
                let d = diagram(def, lang);
                let key = format!("{} v{} {lang:?}", def.key(), def.version());
                assert!(d.svg.contains(&format!("viewBox=\"0 0 {:.0} {:.0}\"", d.width, d.height)), "{key}");
                let inside = |r: &Rect| r.x >= 0.0 && r.y >= 0.0 && r.x + r.w <= d.width && r.y + r.h <= d.height;
                for (name, b) in &d.boxes {
                    assert!(inside(b), "{key}: box {name} {b:?} outside {}x{}", d.width, d.height);
                }
                for (i, (la, a)) in d.labels.iter().enumerate() {
                    assert!(inside(a), "{key}: label {la:?} {a:?} outside {}x{}", d.width, d.height);
                    for (name, b) in &d.boxes {
                        assert!(!a.overlaps(b, 0.0), "{key}: label {la:?} {a:?} on box {name} {b:?}");
                    }
                    for (lb, b) in &d.labels[i + 1..] {
                        assert!(!a.overlaps(b, 0.0), "{key}: label {la:?} {a:?} on label {lb:?} {b:?}");
                    }
                }
                assert_eq!(diagram(def, lang).svg, d.svg, "{key}: not deterministic");
                well_formed(&d.svg).unwrap_or_else(|e| panic!("{key}: {e}"));
                drawn += 1;
            }
        }
        assert!(drawn >= 2 * 15, "only {drawn} diagrams drawn");
    }

    #[test]
    fn layers_follow_the_longest_path_and_back_arrows_are_marked() {
        let def = tiny();
        let d = diagram(&def, Lang::En);
        let y = |name: &str| d.boxes.iter().find(|b| b.0 == name).map(|b| b.1.y).unwrap_or_default();
        assert!(y("draft") < y("review") && y("review") < y("panel") && y("panel") < y("done"));
        // `rejected` is reached from `review` too, but is placed below `panel`.
        assert!(y("rejected") > y("panel"));
        let info = describe(&def, Lang::En);
        let back: Vec<&str> =
            info.iter().flat_map(|s| s.actions.iter().filter(|a| a.back).map(|a| a.name.as_str())).collect();
        assert_eq!(back, ["return", "back"]);
        assert_eq!(d.svg.matches("wf-back\"").count(), 2 + 1, "two back arrows and the marker");
        let expire = info.iter().flat_map(|s| &s.actions).find(|a| a.name == "expire").expect("expire");
        assert_eq!(expire.after.as_deref(), Some("10 working days"));
        assert!(d.svg.contains("stroke-dasharray"), "the timed arrow is dashed");
        // Deterministic.
        assert_eq!(diagram(&def, Lang::En).svg, d.svg);
    }

    #[test]
    fn text_is_escaped_and_boxes_fit_their_text() {
        let def = tiny();
        let d = diagram(&def, Lang::Zh);
        assert!(d.svg.contains("审核 &lt;甲&gt; &amp; 乙"));
        assert!(d.svg.contains("<title id=\"wf-title\">小流程 &lt;&amp;&gt;</title>"));
        assert!(!d.svg.contains("<甲>"));
        assert!(!d.svg.contains("style="));
        for (name, b) in &d.boxes {
            let st = def.state(name).expect("state");
            for line in wrap_even(&st.label(Lang::Zh), TITLE_SIZE * BOLD, BOX_MAX_TEXT) {
                assert!(text_width(&line, TITLE_SIZE) * BOLD <= b.w - 2.0 * PAD_X + 0.5, "{line} in {b:?}");
            }
        }
    }

    #[test]
    fn measuring_and_wrapping() {
        assert_eq!(text_width("审核", 10.0), 20.0);
        assert!(text_width("abc", 10.0) < 20.0);
        let lines = wrap("Approve and send on to the expert panel for a vote", 12.0, 100.0);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| text_width(l, 12.0) <= 100.0), "{lines:?}");
        assert_eq!(lines.join(" "), "Approve and send on to the expert panel for a vote");
        let zh = wrap("通过并提交专家组进行评审的一个很长的操作名称", 12.0, 60.0);
        assert!(zh.iter().all(|l| l.chars().count() <= 5), "{zh:?}");
        assert_eq!(zh.concat(), "通过并提交专家组进行评审的一个很长的操作名称");
        assert_eq!(esc("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
