//! SVG rendering of a state machine, for a web page to inline and colour.
//!
//! It draws what [`to_mermaid`](crate::to_mermaid) draws, laid out here
//! instead of by a Mermaid runtime, so a page can address states directly:
//!
//! - every state is `<g class="state" data-state="{name}" data-kind="{kind}">`
//!   (kind is the lowercase `Type`) holding one shape with class `shape` (a
//!   `rect`; a `polygon` diamond for Choice; a fully rounded `rect` for
//!   Succeed and Fail) and a `text` with the name;
//! - a Parallel or Map state's `g` holds only its enclosing `rect` and name.
//!   Its contents follow it as siblings, one
//!   `<g class="branch" data-parent="{name}" data-branch="{i}">` per branch
//!   (a Map has one, its processor) with a `rect class="branch-box"` and the
//!   branch's own markers, edges and states, so a selector on the container's
//!   state does not also reach the states inside it;
//! - start and end markers are `<circle class="terminal">`, with
//!   `terminal-start` or `terminal-end`;
//! - every transition is `<path class="edge">` (plus `edge-catch` for a
//!   `Catch`) with `data-from` and `data-to` naming states (left out at a
//!   start or end marker) and the arrowhead `#asl-arrow` from `<defs>`.
//!   Choice rules and `Default` carry a `<text class="edge-label">`, and
//!   catches one with the first error name and `+N`; the full condition or
//!   error list is in a `<title>`.
//!
//! Colours live in the `<style>` block, never in attributes, and every rule
//! there has at most two classes, so a page's
//! `.state[data-status=failed] .shape` outranks it wherever it appears.
//!
//! Layout is layered and top-down. A state's row is its longest distance
//! from the start following `Next`, Choice and `End` transitions; back edges
//! (loops) are left out of the ranking, and `Catch` edges only rank a state
//! nothing else reaches (a failure handler). Rows are centred, their states
//! in depth-first discovery order, transitions first. Containers are sized
//! from their branches, each laid out the same way. An edge to the next row
//! goes straight down through the gap between the rows; every other edge
//! (catches on the right, loops and row-skipping transitions on the left)
//! runs in a lane of its own outside the rows, so no edge crosses a box.

use std::fmt::Write as _;

use indexmap::IndexMap;

use crate::mermaid::short;
use crate::types::{State, StateMachine};

const MARGIN: i32 = 12;
const NODE_H: i32 = 36;
const DIAMOND_H: i32 = 46;
const RADIUS: i32 = 7;
const NODE_GAP: i32 = 28;
/// Space above a row for the edges entering it and their labels.
const ENTER: i32 = 30;
/// Vertical step between the exits of one state's lane edges; each label
/// sits in the step below its own line.
const EXIT_STEP: i32 = 15;
const LANE_GAP: i32 = 16;
const LANE_STEP: i32 = 10;
const HEADER: i32 = 28;
const PAD: i32 = 10;
const LABEL_CHARS: usize = 24;

const STYLE: &str = "\
.asl-graph{font:13px sans-serif}\
.asl-graph text{fill:#222;text-anchor:middle}\
.asl-graph .shape{fill:#f4f6f8;stroke:#5f6b76;stroke-width:1.5}\
.asl-graph .shape-choice{fill:#fff3cd;stroke:#b58900}\
.asl-graph .shape-succeed{fill:#d4edda;stroke:#2e7d32}\
.asl-graph .shape-fail{fill:#f8d7da;stroke:#c62828}\
.asl-graph .shape-container{fill:#fbfcfd;stroke-dasharray:6 3}\
.asl-graph .branch-box{fill:none;stroke:#c3cad1;stroke-dasharray:3 3}\
.asl-graph .terminal{fill:#5f6b76}\
.asl-graph .terminal-end{fill:#fff;stroke:#5f6b76;stroke-width:4}\
.asl-graph .edge{fill:none;stroke:#7a8590;stroke-width:1.3}\
.asl-graph .edge-catch{stroke:#c62828;stroke-dasharray:5 4}\
.asl-graph .edge-label{font-size:11px;fill:#555;text-anchor:start;\
stroke:#fff;stroke-width:3px;stroke-linejoin:round;paint-order:stroke}\
.asl-graph .arrowhead{fill:#7a8590}";

/// The diagram of `machine` as a standalone SVG document, ending in a newline.
pub fn to_svg(machine: &StateMachine) -> String {
    let layout = Layout::scope(&machine.states, &machine.start_at);
    let (w, h) = (layout.w + 2 * MARGIN, layout.h + 2 * MARGIN);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" \
         width=\"{w}\" height=\"{h}\" class=\"asl-graph\">\n\
         <style>{STYLE}</style>\n\
         <defs><marker id=\"asl-arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
         markerWidth=\"9\" markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto\">\
         <path class=\"arrowhead\" d=\"M0,0 L10,5 L0,10 z\"/></marker></defs>\n"
    );
    layout.render(&mut out, MARGIN, MARGIN);
    out.push_str("</svg>\n");
    out
}

enum What<'a> {
    Start,
    End,
    State(&'a str, &'a State),
}

struct Node<'a> {
    what: What<'a>,
    x: i32,
    y: i32,
    w: i32,
    h: i32,
    /// Branches (or a Map's processor), placed in the node.
    inner: Vec<Inner<'a>>,
}

/// A branch or processor inside a container node.
struct Inner<'a> {
    /// Its offset from the node's left edge.
    x: i32,
    layout: Layout<'a>,
}

enum Label {
    None,
    Condition(String),
    Default,
    Catch(Vec<String>),
}

struct Edge {
    from: usize,
    to: usize,
    label: Label,
    /// Whether it runs in a lane of its own rather than to the next row.
    lane: bool,
    points: Vec<(i32, i32)>,
}

impl Edge {
    fn is_catch(&self) -> bool {
        matches!(self.label, Label::Catch(_))
    }
}

/// One machine, branch or processor, positioned from (0, 0).
struct Layout<'a> {
    w: i32,
    h: i32,
    nodes: Vec<Node<'a>>,
    edges: Vec<Edge>,
}

impl<'a> Layout<'a> {
    fn scope(states: &'a IndexMap<String, State>, start_at: &str) -> Layout<'a> {
        let mut nodes = vec![node(What::Start)];
        nodes.extend(
            states
                .iter()
                .map(|(name, state)| node(What::State(name, state))),
        );
        if states.values().any(State::is_end) {
            nodes.push(node(What::End));
        }
        let end = nodes.len() - 1;
        // Indices follow document order, offset by the start marker; names
        // that are not states here (an invalid document) get no edge.
        let index = |name: &str| states.get_index_of(name).map(|i| i + 1);
        let mut edges = Vec::new();
        let mut edge = |from: usize, to: Option<usize>, label: Label| {
            if let Some(to) = to {
                edges.push(Edge {
                    from,
                    to,
                    label,
                    lane: false,
                    points: Vec::new(),
                });
            }
        };
        edge(0, index(start_at), Label::None);
        for (i, state) in states.values().enumerate() {
            let from = i + 1;
            if let State::Choice(choice) = state {
                for rule in &choice.choices {
                    edge(
                        from,
                        index(&rule.next),
                        Label::Condition(short(&rule.condition)),
                    );
                }
                if let Some(default) = &choice.default {
                    edge(from, index(default), Label::Default);
                }
            }
            if let Some(next) = state.next() {
                edge(from, index(next), Label::None);
            }
            if state.is_end() {
                edge(from, Some(end), Label::None);
            }
            for catcher in state.catchers() {
                edge(
                    from,
                    index(&catcher.next),
                    Label::Catch(catcher.error_equals.clone()),
                );
            }
        }
        let mut layout = Layout {
            w: 0,
            h: 0,
            nodes,
            edges,
        };
        layout.arrange();
        layout
    }

    fn arrange(&mut self) {
        let ranks = ranks(self.nodes.len(), &self.edges);
        let lanes = self.assign_lanes(&ranks.rank);
        let rows = self.place_rows(&ranks, &lanes);
        let frame = self.place_in_rows(&rows, &lanes);
        self.route_edges(&ranks.rank, &lanes, &rows, &frame);
        // Labels of exits near the right edge reach past it.
        for edge in &self.edges {
            if let Some(label) = label(edge) {
                self.w = self.w.max(label.x + small_width(&label.text));
            }
        }
    }

    /// Lane edges: each gets its own lane, and its place among its source's
    /// lane edges on that side fixes where it leaves the source. Lower
    /// sources take the inner lanes, so their lines out do not cross the
    /// lanes of edges from above.
    fn assign_lanes(&mut self, rank: &[usize]) -> Lanes {
        let mut lanes = Lanes {
            used: Sides::default(),
            slot: vec![Slot::default(); self.edges.len()],
            exits: vec![Sides::default(); self.nodes.len()],
        };
        let mut by_row: Vec<usize> = (0..self.edges.len()).collect();
        by_row.sort_by_key(|&e| std::cmp::Reverse(rank[self.edges[e].from]));
        for e in by_row {
            let edge = &mut self.edges[e];
            edge.lane = edge.is_catch() || rank[edge.to] != rank[edge.from] + 1;
            if !edge.lane {
                continue;
            }
            let right = edge.is_catch();
            let exit = lanes.exits[edge.from].side(right);
            let lane = lanes.used.side(right);
            lanes.slot[e] = Slot {
                lane: *lane,
                exit: *exit,
            };
            *exit += 1;
            *lane += 1;
        }
        lanes
    }

    /// The states of each row, in discovery order, and each row's height:
    /// the tallest state, then room for its lane exits and the edges in.
    fn place_rows(&self, ranks: &Ranks, lanes: &Lanes) -> Rows {
        let count = ranks.rank.iter().max().map_or(0, |r| r + 1);
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); count];
        for (i, &r) in ranks.rank.iter().enumerate() {
            members[r].push(i);
        }
        for row in &mut members {
            row.sort_by_key(|&i| ranks.order[i]);
        }
        let mut rows = Rows {
            top: Vec::with_capacity(count),
            bottom: Vec::with_capacity(count),
            members,
        };
        let mut y = 0;
        for row in &rows.members {
            let exits = row
                .iter()
                .map(|&i| lanes.exits[i].left.max(lanes.exits[i].right))
                .max()
                .unwrap_or(0);
            let height = row.iter().map(|&i| self.nodes[i].h).max().unwrap_or(0);
            rows.top.push(y);
            rows.bottom.push(y + height);
            y += height + exits * EXIT_STEP + 12 + ENTER;
        }
        rows
    }

    /// Places the states along their rows, each row centred between the
    /// lanes, and sizes the layout.
    fn place_in_rows(&mut self, rows: &Rows, lanes: &Lanes) -> Frame {
        // A label beside an edge into a state must not run into the next
        // state's edge, so its width pushes that state along.
        let mut reach = vec![0; self.nodes.len()];
        for edge in self.edges.iter().filter(|e| !e.lane) {
            if let Some(text) = label_text(edge) {
                reach[edge.to] = reach[edge.to].max(small_width(&text) + 14);
            }
        }
        let mut widths = Vec::with_capacity(rows.members.len());
        for (r, row) in rows.members.iter().enumerate() {
            let mut x = 0;
            let mut reached = 0;
            for &i in row {
                let node = &mut self.nodes[i];
                x = x.max(reached - node.w / 2);
                node.x = x;
                node.y = rows.top[r];
                reached = x + node.w / 2 + reach[i];
                x += node.w + NODE_GAP;
            }
            widths.push(x - NODE_GAP);
        }
        let frame = Frame {
            left: lanes_width(lanes.used.left),
            content: widths.iter().copied().max().unwrap_or(0),
        };
        for (r, row) in rows.members.iter().enumerate() {
            for &i in row {
                self.nodes[i].x += frame.left + (frame.content - widths[r]) / 2;
            }
        }
        self.w = frame.left + frame.content + lanes_width(lanes.used.right);
        self.h = rows.bottom.last().copied().unwrap_or(0);
        frame
    }

    /// The points of every edge: straight down to the next row, or out to
    /// its lane and along it.
    fn route_edges(&mut self, rank: &[usize], lanes: &Lanes, rows: &Rows, frame: &Frame) {
        for (e, edge) in self.edges.iter_mut().enumerate() {
            let (s, t) = (&self.nodes[edge.from], &self.nodes[edge.to]);
            edge.points = if edge.lane {
                let right = edge.is_catch();
                let lane = LaneRoute {
                    slot: lanes.slot[e],
                    exits: if right {
                        lanes.exits[edge.from].right
                    } else {
                        lanes.exits[edge.from].left
                    },
                    right,
                    below: rows.bottom[rank[edge.from]],
                    above: rows.top[rank[edge.to]],
                };
                lane.points(s, t, frame)
            } else {
                next_row_points(s, t)
            };
            edge.points.dedup();
        }
    }

    fn render(&self, out: &mut String, ox: i32, oy: i32) {
        for edge in &self.edges {
            self.render_edge(out, edge, ox, oy);
        }
        for node in &self.nodes {
            match node.what {
                What::Start | What::End => render_terminal(out, node, ox, oy),
                What::State(name, state) => render_state(out, node, name, state, ox, oy),
            }
        }
    }

    fn name(&self, i: usize) -> Option<&str> {
        match self.nodes[i].what {
            What::State(name, _) => Some(name),
            _ => None,
        }
    }

    /// An edge's `path`, and its label's `text` if it has one.
    fn render_edge(&self, out: &mut String, edge: &Edge, ox: i32, oy: i32) {
        let mut d = String::new();
        for (x, y) in &edge.points {
            let command = if d.is_empty() { "M" } else { " L" };
            let _ = write!(d, "{command}{},{}", x + ox, y + oy);
        }
        let class = if edge.is_catch() {
            "edge edge-catch"
        } else {
            "edge"
        };
        let mut ends = String::new();
        if let Some(from) = self.name(edge.from) {
            let _ = write!(ends, " data-from=\"{}\"", escape(from));
        }
        if let Some(to) = self.name(edge.to) {
            let _ = write!(ends, " data-to=\"{}\"", escape(to));
        }
        let title = match &edge.label {
            Label::Condition(condition) => format!("<title>{}</title>", escape(condition)),
            Label::Catch(errors) => format!("<title>{}</title>", escape(&errors.join(", "))),
            Label::None | Label::Default => String::new(),
        };
        let _ = writeln!(
            out,
            "<path class=\"{class}\"{ends} d=\"{d}\" marker-end=\"url(#asl-arrow)\">{title}</path>"
        );
        if let Some(label) = label(edge) {
            let _ = writeln!(
                out,
                "<text class=\"edge-label\" x=\"{}\" y=\"{}\">{}{title}</text>",
                label.x + ox,
                label.y + oy,
                escape(&label.text)
            );
        }
    }
}

/// A start or end marker.
fn render_terminal(out: &mut String, node: &Node<'_>, ox: i32, oy: i32) {
    let (cx, cy) = (node.x + ox + node.w / 2, node.y + oy + node.h / 2);
    let which = if matches!(node.what, What::Start) {
        "start"
    } else {
        "end"
    };
    let _ = writeln!(
        out,
        "<circle class=\"terminal terminal-{which}\" cx=\"{cx}\" cy=\"{cy}\" r=\"{RADIUS}\"/>"
    );
}

/// A state's `g` with its shape and name, then the branches inside it.
fn render_state(out: &mut String, node: &Node<'_>, name: &str, state: &State, ox: i32, oy: i32) {
    let (x, y, w, h) = (node.x + ox, node.y + oy, node.w, node.h);
    let (cx, cy) = (x + w / 2, y + h / 2);
    let name = escape(name);
    let kind = state.kind().to_ascii_lowercase();
    let _ = writeln!(
        out,
        "<g class=\"state\" data-state=\"{name}\" data-kind=\"{kind}\">"
    );
    let rect = |class: &str, rx: i32| {
        format!(
            "<rect class=\"{class}\" x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" rx=\"{rx}\"/>"
        )
    };
    let shape = match state {
        State::Choice(_) => format!(
            "<polygon class=\"shape shape-choice\" points=\"{cx},{y} {},{cy} {cx},{} {x},{cy}\"/>",
            x + w,
            y + h
        ),
        State::Succeed(_) => rect("shape shape-succeed", h / 2),
        State::Fail(_) => rect("shape shape-fail", h / 2),
        State::Parallel(_) | State::Map(_) => rect("shape shape-container", 6),
        _ => rect("shape", 4),
    };
    let text_y = if node.inner.is_empty() {
        cy + 4
    } else {
        y + 19
    };
    let _ = writeln!(
        out,
        "{shape}\n<text x=\"{cx}\" y=\"{text_y}\">{name}</text>\n</g>"
    );
    for (i, inner) in node.inner.iter().enumerate() {
        let (bx, by) = (x + inner.x, y + HEADER);
        let branch = &inner.layout;
        let _ = writeln!(
            out,
            "<g class=\"branch\" data-parent=\"{name}\" data-branch=\"{i}\">\n\
             <rect class=\"branch-box\" x=\"{bx}\" y=\"{by}\" width=\"{}\" height=\"{}\" rx=\"4\"/>",
            branch.w + 2 * PAD,
            branch.h + 2 * PAD
        );
        branch.render(out, bx + PAD, by + PAD);
        out.push_str("</g>\n");
    }
}

/// Each node's row (`rank`), and its discovery `order` for sorting within a row.
struct Ranks {
    rank: Vec<usize>,
    order: Vec<usize>,
}

/// A count for each side of the rows: loops and skips on the left, catches
/// on the right.
#[derive(Debug, Clone, Copy, Default)]
struct Sides {
    left: i32,
    right: i32,
}

impl Sides {
    fn side(&mut self, right: bool) -> &mut i32 {
        if right {
            &mut self.right
        } else {
            &mut self.left
        }
    }
}

/// A lane edge's lane on its side, and which of its source's exits on that
/// side it leaves by.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    lane: i32,
    exit: i32,
}

/// The lanes beside the rows.
struct Lanes {
    /// How many lanes each side has.
    used: Sides,
    /// Per edge (a lane edge's; the rest stay zero).
    slot: Vec<Slot>,
    /// Per node: how many lane edges leave it on each side.
    exits: Vec<Sides>,
}

/// The rows, top to bottom.
struct Rows {
    /// The nodes of each row, left to right.
    members: Vec<Vec<usize>>,
    top: Vec<i32>,
    bottom: Vec<i32>,
}

/// Where the rows lie across the layout.
struct Frame {
    /// The width of the left lanes, where the rows begin.
    left: i32,
    /// The width of the widest row.
    content: i32,
}

/// The width the lanes of one side take, `count` of them.
fn lanes_width(count: i32) -> i32 {
    if count > 0 {
        LANE_GAP + LANE_STEP * (count - 1) + 4
    } else {
        0
    }
}

/// An edge into the next row: down from the source, across the gap above
/// the target, down into it.
fn next_row_points(s: &Node<'_>, t: &Node<'_>) -> Vec<(i32, i32)> {
    let (sx, tx, top) = (s.x + s.w / 2, t.x + t.w / 2, t.y);
    if (sx - tx).abs() < 4 {
        // Centres rounded apart by a pixel or two: a jog would show.
        vec![(sx, s.y + s.h), (sx, top)]
    } else {
        let turn = top - ENTER;
        vec![(sx, s.y + s.h), (sx, turn), (tx, turn), (tx, top)]
    }
}

/// How a lane edge runs: out of its source, along its lane, into its target.
struct LaneRoute {
    slot: Slot,
    /// How many lane edges leave the source on this edge's side.
    exits: i32,
    /// On the right (a catch), else on the left.
    right: bool,
    /// The bottom of the source's row.
    below: i32,
    /// The top of the target's row.
    above: i32,
}

impl LaneRoute {
    fn points(&self, s: &Node<'_>, t: &Node<'_>, frame: &Frame) -> Vec<(i32, i32)> {
        let Slot { lane, exit } = self.slot;
        let (lane_x, sign) = if self.right {
            let x = frame.left + frame.content + LANE_GAP + LANE_STEP * lane;
            (x, 1)
        } else {
            (frame.left - LANE_GAP - LANE_STEP * lane, -1)
        };
        let m = self.exits;
        let dx = (exit + 1) * (s.w / 2) / (m + 1);
        let out_x = s.x + s.w / 2 + sign * dx;
        // The outermost exit turns highest, so no exit crosses
        // another's line or label.
        let turn = self.below + 6 + EXIT_STEP * (m - 1 - exit);
        let enter = self.above - 10;
        let (tx, top) = (t.x + t.w / 2, t.y);
        vec![
            (out_x, s.bottom_at(dx)),
            (out_x, turn),
            (lane_x, turn),
            (lane_x, enter),
            (tx, enter),
            (tx, top),
        ]
    }
}

impl Node<'_> {
    /// Where a line `dx` right or left of the centre leaves the bottom.
    fn bottom_at(&self, dx: i32) -> i32 {
        match self.what {
            What::State(_, State::Choice(_)) => {
                self.y + self.h - (self.h / 2) * dx.abs() / (self.w / 2).max(1)
            }
            _ => self.y + self.h,
        }
    }
}

fn node(what: What<'_>) -> Node<'_> {
    let mut inner = Vec::new();
    let (w, h) = match &what {
        What::Start | What::End => (2 * RADIUS, 2 * RADIUS),
        What::State(name, state) => {
            let text = text_width(name);
            match state {
                State::Choice(_) => (text * 7 / 5 + 30, DIAMOND_H),
                State::Succeed(_) | State::Fail(_) => (text + 36, NODE_H),
                State::Parallel(parallel) => {
                    inner = parallel
                        .branches
                        .iter()
                        .map(|b| Inner {
                            x: 0,
                            layout: Layout::scope(&b.states, &b.start_at),
                        })
                        .collect();
                    container(text, &mut inner)
                }
                State::Map(map) => {
                    if let Some(p) = map.processor() {
                        inner.push(Inner {
                            x: 0,
                            layout: Layout::scope(&p.states, &p.start_at),
                        });
                    }
                    container(text, &mut inner)
                }
                _ => (text + 24, NODE_H),
            }
        }
    };
    Node {
        what,
        x: 0,
        y: 0,
        w,
        h,
        inner,
    }
}

/// The size of a container, placing its branches side by side and centred.
fn container(text: i32, inner: &mut [Inner<'_>]) -> (i32, i32) {
    let branches = inner.iter().map(|b| b.layout.w + 2 * PAD).sum::<i32>()
        + NODE_GAP * (inner.len().max(1) as i32 - 1);
    let w = (branches + 2 * PAD).max(text + 40);
    let mut x = (w - branches) / 2;
    let mut h = 0;
    for branch in inner.iter_mut() {
        branch.x = x;
        x += branch.layout.w + 2 * PAD + NODE_GAP;
        h = h.max(branch.layout.h + 2 * PAD);
    }
    (w, HEADER + h + PAD)
}

/// Each node's row, and its discovery order for sorting within a row.
fn ranks(n: usize, edges: &[Edge]) -> Ranks {
    let mut normal: Vec<Vec<usize>> = vec![Vec::new(); n];
    for edge in edges.iter().filter(|e| !e.is_catch()) {
        normal[edge.from].push(edge.to);
    }
    // Discovery follows transitions alone first, so the states reached only
    // by a Catch come last in their rows, beside the catch lanes.
    let mut first = Walk::new(&normal);
    first.visit(0);
    // Catch edges only rank the states that nothing else reaches.
    let mut adjacent: Vec<Vec<usize>> = vec![Vec::new(); n];
    for edge in edges {
        if !edge.is_catch() || first.mark[edge.to] == 0 {
            adjacent[edge.from].push(edge.to);
        }
    }
    let mut walk = Walk::new(&adjacent);
    for root in 0..n {
        if walk.mark[root] == 0 {
            walk.visit(root);
        }
    }
    let mut order = vec![usize::MAX; n];
    for (i, &u) in first.discovered.iter().chain(&walk.discovered).enumerate() {
        if order[u] == usize::MAX {
            order[u] = i;
        }
    }
    // Without back edges the graph is acyclic and reverse finishing order is
    // topological, so one pass finds every longest distance.
    let mut successors: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(u, v) in &walk.forward {
        successors[u].push(v);
    }
    let mut rank = vec![0; n];
    for &u in walk.finished.iter().rev() {
        for &v in &successors[u] {
            rank[v] = rank[v].max(rank[u] + 1);
        }
    }
    Ranks { rank, order }
}

/// A depth-first walk that tells loops apart from other edges.
struct Walk<'g> {
    adjacent: &'g [Vec<usize>],
    /// 0 unvisited, 1 on the current path, 2 finished.
    mark: Vec<u8>,
    discovered: Vec<usize>,
    finished: Vec<usize>,
    /// Every edge except those back to a node on the current path.
    forward: Vec<(usize, usize)>,
}

impl<'g> Walk<'g> {
    fn new(adjacent: &'g [Vec<usize>]) -> Self {
        Walk {
            adjacent,
            mark: vec![0; adjacent.len()],
            discovered: Vec::new(),
            finished: Vec::new(),
            forward: Vec::new(),
        }
    }

    fn visit(&mut self, u: usize) {
        self.mark[u] = 1;
        self.discovered.push(u);
        for &v in &self.adjacent[u] {
            match self.mark[v] {
                0 => {
                    self.forward.push((u, v));
                    self.visit(v);
                }
                1 => {}
                _ => self.forward.push((u, v)),
            }
        }
        self.mark[u] = 2;
        self.finished.push(u);
    }
}

/// What an edge's label says.
fn label_text(edge: &Edge) -> Option<String> {
    match &edge.label {
        Label::None => None,
        Label::Default => Some("default".to_owned()),
        Label::Condition(condition) => Some(truncate(condition)),
        Label::Catch(errors) => match errors.as_slice() {
            [] => None,
            [only] => Some(truncate(only)),
            [first, rest @ ..] => Some(format!("{} +{}", truncate(first), rest.len())),
        },
    }
}

/// An edge's label: where it goes and what it says.
struct EdgeLabel {
    x: i32,
    y: i32,
    text: String,
}

/// Where an edge's label goes, and what it says.
fn label(edge: &Edge) -> Option<EdgeLabel> {
    let text = label_text(edge)?;
    let (x, y) = if edge.lane {
        // Below the line leaving the source, before it reaches its lane.
        let (x, y) = edge.points[1];
        (x + 4, y + 12)
    } else {
        // Beside the last stretch into the target.
        let (x, y) = edge.points[edge.points.len() - 1];
        (x + 5, y - 6)
    };
    Some(EdgeLabel { x, y, text })
}

fn truncate(text: &str) -> String {
    if text.chars().count() <= LABEL_CHARS {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(LABEL_CHARS - 1).collect();
    short.push('…');
    short
}

/// Approximate width at 13px sans-serif.
fn text_width(text: &str) -> i32 {
    (text.chars().count() as i32 * 15 + 1) / 2
}

/// Approximate width at the 11px of edge labels.
fn small_width(text: &str) -> i32 {
    (text.chars().count() as i32 * 13 + 1) / 2
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}
