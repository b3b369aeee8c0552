//! Server-rendered SVG bar charts (no chart JavaScript). Horizontal or vertical, grouped or
//! stacked, with a value axis (ticks and grid), value labels, a legend, a `<title>` tooltip on
//! every bar, and `role="img"` with a title and description for assistive technology; every
//! chart also renders as a visually hidden data table. Colours come from CSS classes
//! (`series-0`…), the font stack (CJK included) from `app.css`, so nothing needs an inline
//! style; geometry is SVG presentation attributes, which the CSP allows. All text is escaped.

use std::fmt::Write as _;

/// One series: its legend name and its colour class index.
pub(crate) struct Series {
    pub(crate) name: String,
}

/// One category (a bar group or stack): its label and one value per series, each with its
/// formatted label (shown at the bar, in tooltips and in the data table).
pub(crate) struct Category {
    pub(crate) label: String,
    pub(crate) values: Vec<i64>,
    pub(crate) labels: Vec<String>,
    /// For stacked charts: the formatted total shown at the end of the stack.
    pub(crate) total: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Categories down the side, bars to the right.
    Horizontal,
    /// Categories along the bottom, bars upwards.
    Vertical,
}

pub(crate) struct BarChart<'a> {
    /// Unique on the page; the SVG's id and the prefix of its title/desc ids.
    pub(crate) id: &'a str,
    pub(crate) title: String,
    pub(crate) desc: String,
    /// The data table's first column header.
    pub(crate) category_header: String,
    pub(crate) series: Vec<Series>,
    pub(crate) categories: Vec<Category>,
    pub(crate) layout: Layout,
    pub(crate) stacked: bool,
    /// Formats a value-axis tick.
    pub(crate) tick: &'a dyn Fn(i64) -> String,
}

const WIDTH: i64 = 720;
const FONT: i64 = 12;
const BAR: i64 = 14;
const GAP: i64 = 10;
const LEGEND: i64 = 26;
const AXIS: i64 = 22;
const FONT_STACK: &str = "system-ui, -apple-system, 'Segoe UI', 'Noto Sans', 'Noto Sans CJK SC', \
'PingFang SC', 'Microsoft YaHei', 'Hiragino Sans GB', sans-serif";

/// Escapes text for HTML and SVG content and attribute values.
pub(crate) fn esc(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Estimated rendered width at 12 px: wide (CJK, full-width) characters count double.
fn text_width(s: &str) -> i64 {
    s.chars()
        .map(|c| if is_wide(c) { FONT } else { FONT * 6 / 10 })
        .sum()
}

fn is_wide(c: char) -> bool {
    matches!(u32::from(c),
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD)
}

/// Shortens a label to fit `max` pixels, ending it with "…" (the full text stays in the
/// tooltip and the data table).
fn fit(label: &str, max: i64) -> String {
    if text_width(label) <= max {
        return label.to_owned();
    }
    let mut out = String::new();
    let mut width = text_width("…");
    for c in label.chars() {
        let w = text_width(c.encode_utf8(&mut [0; 4]));
        if width + w > max {
            break;
        }
        width += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// A round axis maximum and step (1, 2 or 5 × 10ⁿ) with at most 5 intervals.
fn ticks(max: i64) -> (i64, i64) {
    let max = max.max(1);
    let raw = (max + 4) / 5;
    let mut magnitude: i64 = 1;
    while magnitude.saturating_mul(10) <= raw {
        magnitude = magnitude.saturating_mul(10);
    }
    let step = [1, 2, 5, 10]
        .iter()
        .map(|m| magnitude.saturating_mul(*m))
        .find(|s| *s >= raw)
        .unwrap_or(magnitude.saturating_mul(10));
    let top = max.div_euclid(step) * step + if max % step == 0 { 0 } else { step };
    (top.max(step), step)
}

/// `value / top` of `length`, in 128 bits.
fn scale(value: i64, top: i64, length: i64) -> i64 {
    if top <= 0 {
        return 0;
    }
    let v = i128::from(value.max(0)) * i128::from(length) / i128::from(top);
    i64::try_from(v).unwrap_or(length)
}

impl BarChart<'_> {
    fn axis_max(&self) -> i64 {
        self.categories
            .iter()
            .map(|c| {
                if self.stacked {
                    c.values.iter().map(|v| (*v).max(0)).sum()
                } else {
                    c.values.iter().copied().max().unwrap_or(0)
                }
            })
            .max()
            .unwrap_or(0)
    }

    fn tooltip(&self, category: &Category, series: usize) -> String {
        let name = self.series.get(series).map_or("", |s| s.name.as_str());
        let value = category.labels.get(series).map_or("", String::as_str);
        format!("{} · {}: {}", category.label, name, value)
    }

    /// The chart as an SVG element.
    pub(crate) fn svg(&self) -> String {
        match self.layout {
            Layout::Horizontal => self.horizontal(),
            Layout::Vertical => self.vertical(),
        }
    }

    fn open(&self, out: &mut String, height: i64) {
        let id = esc(self.id);
        let _ = write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"{id}\" \
             viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\" \
             role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" \
             font-family=\"{}\" font-size=\"{FONT}\">\
             <title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>",
            esc(FONT_STACK),
            esc(&self.title),
            esc(&self.desc)
        );
    }

    fn legend(&self, out: &mut String) {
        let mut x = 0;
        out.push_str("<g class=\"legend\">");
        for (i, s) in self.series.iter().enumerate() {
            let _ = write!(
                out,
                "<rect class=\"swatch series-{i}\" x=\"{x}\" y=\"4\" width=\"12\" height=\"12\"></rect>\
                 <text x=\"{}\" y=\"14\">{}</text>",
                x + 16,
                esc(&s.name)
            );
            x += 16 + text_width(&s.name) + 18;
        }
        out.push_str("</g>");
    }

    fn horizontal(&self) -> String {
        let series = i64::try_from(self.series.len()).unwrap_or(1).max(1);
        let band = if self.stacked { BAR + 4 } else { series * BAR } + GAP;
        let rows = i64::try_from(self.categories.len()).unwrap_or(0);
        let label_w = self
            .categories
            .iter()
            .map(|c| text_width(&c.label))
            .max()
            .unwrap_or(0)
            .clamp(40, 200)
            + 10;
        let value_w = self
            .categories
            .iter()
            .flat_map(|c| c.labels.iter().chain(c.total.iter()))
            .map(|l| text_width(l))
            .max()
            .unwrap_or(0)
            .clamp(20, 180)
            + 8;
        let plot_x = label_w;
        let plot_w = (WIDTH - label_w - value_w).max(100);
        let top = LEGEND;
        let height = top + rows * band + AXIS;
        let (axis_max, step) = ticks(self.axis_max());
        let mut out = String::new();
        self.open(&mut out, height);
        self.legend(&mut out);
        // Grid and ticks.
        out.push_str("<g class=\"axis\">");
        let mut t = 0;
        while t <= axis_max {
            let x = plot_x + scale(t, axis_max, plot_w);
            let _ = write!(
                out,
                "<line class=\"grid\" x1=\"{x}\" y1=\"{top}\" x2=\"{x}\" y2=\"{}\"></line>\
                 <text class=\"tick\" x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                top + rows * band,
                top + rows * band + 15,
                esc(&(self.tick)(t))
            );
            t = t.saturating_add(step);
        }
        out.push_str("</g>");
        for (row, category) in self.categories.iter().enumerate() {
            let y0 = top + i64::try_from(row).unwrap_or(0) * band + GAP / 2;
            let label_y = y0 + (band - GAP) / 2 + FONT / 2 - 2;
            let _ = write!(
                out,
                "<g class=\"category\"><text class=\"category-label\" x=\"{}\" y=\"{label_y}\" \
                 text-anchor=\"end\"><title>{}</title>{}</text>",
                plot_x - 6,
                esc(&category.label),
                esc(&fit(&category.label, label_w - 10))
            );
            let mut x = plot_x;
            for (i, value) in category.values.iter().enumerate() {
                let w = scale(*value, axis_max, plot_w);
                let (bx, by, bh) = if self.stacked {
                    (x, y0, BAR + 4)
                } else {
                    (plot_x, y0 + i64::try_from(i).unwrap_or(0) * BAR, BAR - 2)
                };
                let _ = write!(
                    out,
                    "<rect class=\"bar series-{i}\" x=\"{bx}\" y=\"{by}\" width=\"{w}\" \
                     height=\"{bh}\"><title>{}</title></rect>",
                    esc(&self.tooltip(category, i))
                );
                if !self.stacked {
                    let _ = write!(
                        out,
                        "<text class=\"value\" x=\"{}\" y=\"{}\">{}</text>",
                        bx + w + 4,
                        by + bh - 2,
                        esc(category.labels.get(i).map_or("", String::as_str))
                    );
                }
                x += w;
            }
            if let (true, Some(total)) = (self.stacked, &category.total) {
                let _ = write!(
                    out,
                    "<text class=\"value\" x=\"{}\" y=\"{}\">{}</text>",
                    x + 4,
                    y0 + BAR,
                    esc(total)
                );
            }
            out.push_str("</g>");
        }
        out.push_str("</svg>");
        out
    }

    fn vertical(&self) -> String {
        let count = i64::try_from(self.categories.len()).unwrap_or(0).max(1);
        let series = i64::try_from(self.series.len()).unwrap_or(1).max(1);
        let (axis_max, step) = ticks(self.axis_max());
        let tick_w = {
            let mut widest = 0;
            let mut t = 0;
            while t <= axis_max {
                widest = widest.max(text_width(&(self.tick)(t)));
                t = t.saturating_add(step);
            }
            widest + 10
        };
        let plot_x = tick_w;
        let plot_w = WIDTH - plot_x - 4;
        let band = plot_w / count;
        let rotate = self
            .categories
            .iter()
            .any(|c| text_width(&c.label) > band - 4);
        let label_h = if rotate { 56 } else { 20 };
        let plot_h = 200;
        let top = LEGEND + 14;
        let base = top + plot_h;
        let height = base + label_h;
        let bar_w = if self.stacked {
            (band * 6 / 10).max(4)
        } else {
            ((band * 8 / 10) / series).max(3)
        };
        let mut out = String::new();
        self.open(&mut out, height);
        self.legend(&mut out);
        out.push_str("<g class=\"axis\">");
        let mut t = 0;
        while t <= axis_max {
            let y = base - scale(t, axis_max, plot_h);
            let _ = write!(
                out,
                "<line class=\"grid\" x1=\"{plot_x}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\"></line>\
                 <text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
                WIDTH - 4,
                plot_x - 4,
                y + 4,
                esc(&(self.tick)(t))
            );
            t = t.saturating_add(step);
        }
        out.push_str("</g>");
        for (col, category) in self.categories.iter().enumerate() {
            let x0 = plot_x + i64::try_from(col).unwrap_or(0) * band;
            let group_w = if self.stacked { bar_w } else { bar_w * series };
            let start = x0 + (band - group_w) / 2;
            let cx = x0 + band / 2;
            out.push_str("<g class=\"category\">");
            let mut y = base;
            for (i, value) in category.values.iter().enumerate() {
                let h = scale(*value, axis_max, plot_h);
                let bx = if self.stacked {
                    start
                } else {
                    start + i64::try_from(i).unwrap_or(0) * bar_w
                };
                let by = if self.stacked { y - h } else { base - h };
                let _ = write!(
                    out,
                    "<rect class=\"bar series-{i}\" x=\"{bx}\" y=\"{by}\" width=\"{}\" \
                     height=\"{h}\"><title>{}</title></rect>",
                    (bar_w - 1).max(1),
                    esc(&self.tooltip(category, i))
                );
                let label = category.labels.get(i).map_or("", String::as_str);
                // A value label wider than its bar would run into the neighbour's: the
                // tooltip and the data table carry it instead.
                if !self.stacked && *value > 0 && text_width(label) <= bar_w + 6 {
                    let _ = write!(
                        out,
                        "<text class=\"value\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                        bx + bar_w / 2,
                        by - 3,
                        esc(label)
                    );
                }
                if self.stacked {
                    y -= h;
                }
            }
            if let (true, Some(total)) = (self.stacked, &category.total) {
                let _ = write!(
                    out,
                    "<text class=\"value\" x=\"{cx}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                    y - 3,
                    esc(total)
                );
            }
            if rotate {
                let _ = write!(
                    out,
                    "<text class=\"category-label\" x=\"{cx}\" y=\"{}\" text-anchor=\"end\" \
                     transform=\"rotate(-40 {cx} {})\">{}</text>",
                    base + 14,
                    base + 14,
                    esc(&category.label)
                );
            } else {
                let _ = write!(
                    out,
                    "<text class=\"category-label\" x=\"{cx}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                    base + 15,
                    esc(&category.label)
                );
            }
            out.push_str("</g>");
        }
        out.push_str("</svg>");
        out
    }

    /// The same data as a table for screen readers (hidden visually, not from them).
    pub(crate) fn table(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "<table class=\"visually-hidden chart-data\" id=\"{}-data\"><caption>{}</caption>\
             <thead><tr><th scope=\"col\">{}</th>",
            esc(self.id),
            esc(&self.title),
            esc(&self.category_header)
        );
        for s in &self.series {
            let _ = write!(out, "<th scope=\"col\">{}</th>", esc(&s.name));
        }
        out.push_str("</tr></thead><tbody>");
        for c in &self.categories {
            let _ = write!(out, "<tr><th scope=\"row\">{}</th>", esc(&c.label));
            for label in &c.labels {
                let _ = write!(out, "<td>{}</td>", esc(label));
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table>");
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn chart(layout: Layout, stacked: bool) -> String {
        let tick = |v: i64| v.to_string();
        BarChart {
            id: "c",
            title: "T <script>".into(),
            desc: "D".into(),
            category_header: "Stage".into(),
            series: vec![Series { name: "A".into() }, Series { name: "B".into() }],
            categories: vec![
                Category {
                    label: "销售阶段 & more".into(),
                    values: vec![3, 1],
                    labels: vec!["3".into(), "1".into()],
                    total: Some("4".into()),
                },
                Category {
                    label: "Two".into(),
                    values: vec![0, 7],
                    labels: vec!["0".into(), "7".into()],
                    total: Some("7".into()),
                },
            ],
            layout,
            stacked,
            tick: &tick,
        }
        .svg()
    }

    #[test]
    fn bars_labels_and_escaping() {
        for (layout, stacked) in [
            (Layout::Horizontal, false),
            (Layout::Horizontal, true),
            (Layout::Vertical, false),
            (Layout::Vertical, true),
        ] {
            let svg = chart(layout, stacked);
            assert_eq!(svg.matches("<rect class=\"bar ").count(), 4);
            assert!(svg.contains("T &lt;script&gt;"));
            assert!(!svg.contains("<script"));
            assert!(!svg.contains("style="));
            assert!(svg.contains("销售阶段 &amp; more"));
            assert!(svg.contains("role=\"img\""));
        }
    }

    #[test]
    fn round_ticks() {
        assert_eq!(ticks(0), (1, 1));
        assert_eq!(ticks(7), (8, 2));
        assert_eq!(ticks(100_005), (150_000, 50_000));
        assert_eq!(ticks(333), (400, 100));
        assert_eq!(ticks(5), (5, 1));
    }

    #[test]
    fn long_labels_are_shortened_by_width() {
        assert_eq!(fit("short", 100), "short");
        let cjk = fit("非常非常非常长的阶段名称", 60);
        assert!(cjk.ends_with('…') && text_width(&cjk) <= 60, "{cjk}");
    }
}
