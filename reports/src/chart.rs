//! Chart drawing with plotters: line, grouped-bar and dot charts, each written as PNG and SVG.
//!
//! Text is set in DejaVu Sans, embedded in the binary and registered with plotters' ab_glyph
//! renderer, so charts look the same on any machine and need no system fonts or fontconfig.

use crate::axis::LogAxis;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Width of every chart, pixels.
pub const WIDTH: u32 = 1000;
/// Height of line charts, pixels (bar charts grow with their bars).
pub const LINE_HEIGHT: u32 = 480;

const FONT: &str = "sans-serif";

/// One chart and the files it becomes: `<stem>.png` and `<stem>.svg`.
#[derive(Debug, Clone)]
pub struct Figure {
    pub stem: String,
    pub title: String,
    /// One sentence under the chart in the HTML: what it shows and how to read it.
    pub description: String,
    pub chart: Chart,
}

#[derive(Debug, Clone)]
pub enum Chart {
    Lines(LineChart),
    Bars(BarChart),
    Dots(DotChart),
}

/// One row per group; each value a dot, the median a tick, its interval a line: how
/// repetitions spread.
#[derive(Debug, Clone)]
pub struct DotChart {
    pub value_label: String,
    pub rows: Vec<DotRow>,
}

#[derive(Debug, Clone)]
pub struct DotRow {
    pub name: String,
    pub color: RGBColor,
    pub values: Vec<f64>,
    pub median: f64,
    pub interval: Option<(f64, f64)>,
}

/// Series of (x, y) points on shared axes.
#[derive(Debug, Clone)]
pub struct LineChart {
    pub x_label: String,
    pub y_label: String,
    pub x_axis: Axis,
    pub y_scale: Scale,
    pub series: Vec<Series>,
    pub legend: Legend,
    /// x ranges drawn as grey bands behind the series (a run's fault windows).
    pub shaded: Vec<(f64, f64)>,
}

#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub color: RGBColor,
    pub points: Vec<(f64, f64)>,
}

/// Horizontal bars: one row per category, one bar per group in each row.
#[derive(Debug, Clone)]
pub struct BarChart {
    pub value_label: String,
    pub scale: Scale,
    pub categories: Vec<String>,
    pub groups: Vec<(String, RGBColor)>,
    /// `values[category][group]`; `None` draws no bar.
    pub values: Vec<Vec<Option<f64>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Linear,
    Log,
}

/// How the x axis maps and labels its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    Linear,
    Log,
    /// x is a percentile; plotted at 1/(1 - p) on a log scale, as HDR histogram plots do, so
    /// that 90%, 99%, 99.9% and 99.99% are evenly spaced.
    PercentileSpectrum,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Legend {
    UpperLeft,
    UpperRight,
    LowerRight,
}

impl Figure {
    /// The pixel size both files are drawn at.
    pub fn size(&self) -> (u32, u32) {
        match &self.chart {
            Chart::Lines(_) => (WIDTH, LINE_HEIGHT),
            Chart::Bars(bars) => {
                let rows = bars.categories.len().max(1) as u32;
                let per_row = 8 + 16 * bars.groups.len().max(1) as u32;
                let band = legend_band(&bars.groups);
                (WIDTH, (band + 82 + rows * per_row).max(280))
            }
            Chart::Dots(dots) => (WIDTH, 150 + 56 * dots.rows.len().max(1) as u32),
        }
    }

    /// Writes `<dir>/<stem>.png` and `<dir>/<stem>.svg`; returns the PNG's path.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, ChartError> {
        register_font();
        let size = self.size();
        let png = dir.join(format!("{}.png", self.stem));
        let svg = dir.join(format!("{}.svg", self.stem));
        let error = |path: &Path, message: String| ChartError {
            path: path.display().to_string(),
            message,
        };
        {
            let root = BitMapBackend::new(&png, size).into_drawing_area();
            self.draw(&root).map_err(|e| error(&png, e.to_string()))?;
            root.present().map_err(|e| error(&png, e.to_string()))?;
        }
        {
            let root = SVGBackend::new(&svg, size).into_drawing_area();
            self.draw(&root).map_err(|e| error(&svg, e.to_string()))?;
            root.present().map_err(|e| error(&svg, e.to_string()))?;
        }
        Ok(png)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        root.fill(&WHITE)?;
        match &self.chart {
            Chart::Lines(lines) => draw_lines(root, &self.title, lines),
            Chart::Bars(bars) => draw_bars(root, &self.title, bars),
            Chart::Dots(dots) => draw_dots(root, &self.title, dots),
        }
    }
}

/// A chart file that could not be drawn or written.
#[derive(Debug, thiserror::Error)]
#[error("drawing {path}: {message}")]
pub struct ChartError {
    pub path: String,
    pub message: String,
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn register_font() {
    static REGISTERED: OnceLock<()> = OnceLock::new();
    REGISTERED.get_or_init(|| {
        // The font is compiled in, so a failure here is a broken build, not a runtime condition.
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .unwrap_or_else(|_| panic!("the embedded DejaVu Sans font does not parse"));
    });
}

/// Draws "no data" where a chart has nothing to show, so the report says so instead of
/// drawing empty axes that look like zeros.
fn draw_empty<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, title: &str) -> DrawResult<DB> {
    let (width, height) = root.dim_in_pixel();
    root.draw(&Text::new(title.to_owned(), (20, 14), (FONT, 22)))?;
    root.draw(&Text::new(
        "no data in these results",
        (width as i32 / 2 - 110, height as i32 / 2),
        (FONT, 20).into_font().color(&RGBColor(110, 110, 110)),
    ))
}

/// A range with some room around the data; never empty, never non-positive on a log scale.
fn padded(low: f64, high: f64, scale: Scale) -> (f64, f64) {
    match scale {
        Scale::Linear => {
            let low = low.min(0.0);
            let high = if high > low { high * 1.08 } else { low + 1.0 };
            (low, high)
        }
        Scale::Log => {
            let low = if low > 0.0 { low } else { high.max(1.0) / 10.0 };
            let high = high.max(low * 10.0);
            (low / 1.3, high * 1.3)
        }
    }
}

fn draw_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    chart: &LineChart,
) -> DrawResult<DB> {
    let points = || chart.series.iter().flat_map(|s| s.points.iter());
    let to_x = |x: f64| match chart.x_axis {
        Axis::PercentileSpectrum => spectrum_x(x),
        Axis::Linear | Axis::Log => x,
    };
    let usable = |&&(x, y): &&(f64, f64)| {
        let x = to_x(x);
        x.is_finite()
            && y.is_finite()
            && (chart.x_axis == Axis::Linear || x > 0.0)
            && (chart.y_scale == Scale::Linear || y > 0.0)
    };
    if points().filter(usable).count() == 0 {
        return draw_empty(root, title);
    }
    let fold = |f: fn(f64, f64) -> f64, start: f64, pick: fn(&(f64, f64)) -> f64| {
        points().filter(usable).map(pick).fold(start, f)
    };
    let (x_low, x_high) = (
        to_x(fold(f64::min, f64::INFINITY, |p| p.0)),
        to_x(fold(f64::max, f64::NEG_INFINITY, |p| p.0)),
    );
    let (y_low, y_high) = padded(
        fold(f64::min, f64::INFINITY, |p| p.1),
        fold(f64::max, f64::NEG_INFINITY, |p| p.1),
        chart.y_scale,
    );
    let x_high = if x_high > x_low { x_high } else { x_low + 1.0 };
    let log = |low: f64, high: f64| LogAxis::new(low, high, false);
    match (chart.x_axis, chart.y_scale) {
        (Axis::Linear, Scale::Linear) => lines_on(root, title, chart, x_low..x_high, y_low..y_high),
        (Axis::Linear, Scale::Log) => {
            lines_on(root, title, chart, x_low..x_high, log(y_low, y_high))
        }
        (Axis::Log, Scale::Linear) => {
            lines_on(root, title, chart, log(x_low, x_high), y_low..y_high)
        }
        (Axis::Log, Scale::Log) => {
            lines_on(root, title, chart, log(x_low, x_high), log(y_low, y_high))
        }
        (Axis::PercentileSpectrum, scale) => {
            // Ticks at whole decades of 1/(1 - p): 0%, 90%, 99%, 99.9%, ...
            let x = LogAxis::new(1.0, x_high.max(10.0), true);
            match scale {
                Scale::Linear => lines_on(root, title, chart, x, y_low..y_high),
                Scale::Log => lines_on(root, title, chart, x, log(y_low, y_high)),
            }
        }
    }
}

/// x of a percentile on a spectrum chart: 1/(1 - p), capped where 100% would be infinite.
fn spectrum_x(percentile: f64) -> f64 {
    let tail = (1.0 - percentile / 100.0).max(1e-6);
    1.0 / tail
}

fn spectrum_label(x: f64) -> String {
    let percentile = 100.0 * (1.0 - 1.0 / x);
    let text = format!("{percentile:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}%")
}

fn lines_on<DB, X, Y>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    chart: &LineChart,
    x: X,
    y: Y,
) -> DrawResult<DB>
where
    DB: DrawingBackend,
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut context = ChartBuilder::on(root)
        .caption(title, (FONT, 22))
        .margin(14)
        .margin_right(34)
        .x_label_area_size(46)
        .y_label_area_size(78)
        .build_cartesian_2d(x, y)?;
    let spectrum = chart.x_axis == Axis::PercentileSpectrum;
    let x_format = move |x: &f64| {
        if spectrum {
            spectrum_label(*x)
        } else {
            number_label(*x)
        }
    };
    context
        .configure_mesh()
        .x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .x_label_formatter(&x_format)
        .y_label_formatter(&|y: &f64| number_label(*y))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    let to_x = |x: f64| if spectrum { spectrum_x(x) } else { x };
    if !chart.shaded.is_empty() {
        let (x_range, y_range) = (context.x_range(), context.y_range());
        let band = RGBColor(200, 200, 200).mix(0.45).filled();
        let bands = chart.shaded.iter().map(|&(from, to)| {
            let from = to_x(from).clamp(x_range.start, x_range.end);
            let to = to_x(to).clamp(x_range.start, x_range.end);
            Rectangle::new([(from, y_range.start), (to, y_range.end)], band)
        });
        context
            .draw_series(bands)?
            .label("fault window")
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], band));
    }
    for series in &chart.series {
        let color = series.color;
        let points: Vec<(f64, f64)> = series
            .points
            .iter()
            .map(|&(x, y)| (to_x(x), y))
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        context
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(series.name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
    }
    if chart.series.len() > 1
        || !chart.shaded.is_empty()
        || !chart.series.iter().all(|s| s.name.is_empty())
    {
        context
            .configure_series_labels()
            .position(match chart.legend {
                Legend::UpperLeft => SeriesLabelPosition::UpperLeft,
                Legend::UpperRight => SeriesLabelPosition::UpperRight,
                Legend::LowerRight => SeriesLabelPosition::LowerRight,
            })
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .draw()?;
    }
    Ok(())
}

fn draw_bars<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    chart: &BarChart,
) -> DrawResult<DB> {
    let values = || chart.values.iter().flatten().flatten().copied();
    let usable = |v: &f64| v.is_finite() && (chart.scale == Scale::Linear || *v > 0.0);
    if chart.categories.is_empty() || values().filter(usable).count() == 0 {
        return draw_empty(root, title);
    }
    let low = values().filter(usable).fold(f64::INFINITY, f64::min);
    let high = values().filter(usable).fold(f64::NEG_INFINITY, f64::max);
    let (low, high) = padded(low, high, chart.scale);
    // Room right of the longest bar for its value label.
    let high = match chart.scale {
        Scale::Linear => high * 1.15,
        Scale::Log => high * 3.0,
    };
    // Row i (from the top) spans [rows - i - 1, rows - i]; its label is drawn at the centre.
    let y = 0.0..chart.categories.len() as f64;
    match chart.scale {
        Scale::Linear => bars_on(root, title, chart, low..high, y, low),
        Scale::Log => bars_on(root, title, chart, LogAxis::new(low, high, false), y, low),
    }
}

/// Where each legend entry of a bar chart goes: left to right, wrapping to a new row before
/// the chart's right edge.
fn legend_layout(groups: &[(String, RGBColor)]) -> Vec<(i32, i32)> {
    let mut positions = Vec::with_capacity(groups.len());
    let (mut left, mut top) = (20, 52);
    for (name, _) in groups {
        let width = 46 + 8 * name.chars().count() as i32;
        if left > 20 && left + width > WIDTH as i32 - 20 {
            left = 20;
            top += 22;
        }
        positions.push((left, top));
        left += width;
    }
    positions
}

/// Height of a bar chart's title-and-legend band.
fn legend_band(groups: &[(String, RGBColor)]) -> u32 {
    let bottom = legend_layout(groups).last().map_or(52, |&(_, top)| top);
    (bottom + 26) as u32
}

fn bars_on<DB, X, Y>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    chart: &BarChart,
    x: X,
    y: Y,
    base: f64,
) -> DrawResult<DB>
where
    DB: DrawingBackend,
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let longest = chart
        .categories
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(0) as u32;
    // Title and legend in a band of their own, where the legend cannot cover a bar.
    let (head, body) = root.split_vertically(legend_band(&chart.groups));
    let (width, _) = head.dim_in_pixel();
    head.draw(&Text::new(
        title.to_owned(),
        (width as i32 / 2, 22),
        (FONT, 22)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    let mut left = 20;
    for (name, color) in &chart.groups {
        head.draw(&Rectangle::new(
            [(left, 52), (left + 16, 64)],
            color.filled(),
        ))?;
        head.draw(&Text::new(
            name.clone(),
            (left + 22, 58),
            (FONT, 14)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        left += 46 + 8 * name.chars().count() as i32;
    }
    let mut context = ChartBuilder::on(&body)
        .margin(14)
        .margin_top(4)
        .x_label_area_size(46)
        .y_label_area_size((longest * 8 + 16).clamp(60, 380))
        .build_cartesian_2d(x, y)?;
    let rows = chart.categories.len();
    context
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc(chart.value_label.as_str())
        .x_label_formatter(&|x: &f64| number_label(*x))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    // The category names, right-aligned left of the plot: plotters places axis labels at
    // its own key points, not at the centre of each row.
    let label_style = (FONT, 14)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Right, VPos::Center));
    for (row, name) in chart.categories.iter().enumerate() {
        let (left, centre) = context.backend_coord(&(base, (rows - row) as f64 - 0.5));
        root.draw(&Text::new(
            name.clone(),
            (left - 8, centre),
            label_style.clone(),
        ))?;
    }
    let usable = |v: &f64| v.is_finite() && (chart.scale == Scale::Linear || *v > 0.0);
    let groups = chart.groups.len().max(1) as f64;
    let band = 0.8 / groups;
    let value_style = (FONT, 12)
        .into_font()
        .color(&RGBColor(60, 60, 60))
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (g, (_, color)) in chart.groups.iter().enumerate() {
        let color = *color;
        let bars: Vec<Rectangle<(f64, f64)>> = chart
            .values
            .iter()
            .enumerate()
            .filter_map(|(row, values)| {
                let value = values.get(g).copied().flatten().filter(usable)?;
                let top = (rows - row) as f64 - 0.1 - band * g as f64;
                Some(Rectangle::new(
                    [(base, top - band * 0.92), (value, top)],
                    color.filled(),
                ))
            })
            .collect();
        context.draw_series(bars)?;
        // Each bar's value at its end, so the chart reads without the axis.
        for (row, values) in chart.values.iter().enumerate() {
            let Some(value) = values.get(g).copied().flatten().filter(usable) else {
                continue;
            };
            let centre = (rows - row) as f64 - 0.1 - band * (g as f64 + 0.46);
            let (x, y) = context.backend_coord(&(value, centre));
            root.draw(&Text::new(
                number_label(value),
                (x + 4, y),
                value_style.clone(),
            ))?;
        }
    }
    Ok(())
}

fn draw_dots<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    chart: &DotChart,
) -> DrawResult<DB> {
    let values = || {
        chart
            .rows
            .iter()
            .flat_map(|row| row.values.iter().copied())
            .filter(|v| v.is_finite())
    };
    if values().count() == 0 {
        return draw_empty(root, title);
    }
    let low = values().fold(f64::INFINITY, f64::min);
    let high = values().fold(f64::NEG_INFINITY, f64::max);
    // Around the values rather than from zero: the spread is what this chart shows.
    let margin = ((high - low) * 0.15).max(high.abs() * 0.02).max(1e-9);
    let (low, high) = (low - margin, high + margin);
    let rows = chart.rows.len();
    let longest = chart
        .rows
        .iter()
        .map(|row| row.name.chars().count())
        .max()
        .unwrap_or(0) as u32;
    let (width, _) = root.dim_in_pixel();
    root.draw(&Text::new(
        title.to_owned(),
        (width as i32 / 2, 22),
        (FONT, 22)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    let (_, body) = root.split_vertically(44);
    let mut context = ChartBuilder::on(&body)
        .margin(14)
        .margin_top(4)
        .x_label_area_size(46)
        .y_label_area_size((longest * 8 + 16).clamp(60, 380))
        .build_cartesian_2d(low..high, 0.0..rows as f64)?;
    context
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc(chart.value_label.as_str())
        .x_label_formatter(&|x: &f64| number_label(*x))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    let label_style = (FONT, 14)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Right, VPos::Center));
    for (index, row) in chart.rows.iter().enumerate() {
        let centre = (rows - index) as f64 - 0.5;
        let (left, y) = context.backend_coord(&(low, centre));
        root.draw(&Text::new(
            row.name.clone(),
            (left - 8, y),
            label_style.clone(),
        ))?;
        if let Some((from, to)) = row.interval {
            context.draw_series(std::iter::once(PathElement::new(
                vec![(from, centre), (to, centre)],
                row.color.stroke_width(2),
            )))?;
        }
        if row.median.is_finite() {
            context.draw_series(std::iter::once(PathElement::new(
                vec![(row.median, centre - 0.3), (row.median, centre + 0.3)],
                BLACK.stroke_width(3),
            )))?;
        }
        context.draw_series(
            row.values
                .iter()
                .filter(|v| v.is_finite())
                .map(|&value| Circle::new((value, centre), 7, row.color.filled())),
        )?;
    }
    Ok(())
}

/// Axis numbers without noise: 1200 → "1.2k", 0.05 → "0.05".
pub fn number_label(value: f64) -> String {
    let magnitude = value.abs();
    let (scaled, suffix) = if magnitude >= 1e9 {
        (value / 1e9, "G")
    } else if magnitude >= 1e6 {
        (value / 1e6, "M")
    } else if magnitude >= 1e3 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    let text = if scaled.abs() >= 100.0 || scaled == scaled.trunc() {
        format!("{scaled:.0}")
    } else if scaled.abs() >= 1.0 {
        format!("{scaled:.1}")
    } else {
        // Enough decimals for two significant figures, however small the value.
        let decimals = (-scaled.abs().log10()).ceil().max(0.0) as usize + 1;
        format!("{scaled:.decimals$}")
    };
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    format!("{text}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_labelled_short() {
        assert_eq!(number_label(0.0), "0");
        assert_eq!(number_label(0.05), "0.05");
        assert_eq!(number_label(0.0002), "0.0002");
        assert_eq!(number_label(0.25), "0.25");
        assert_eq!(number_label(2.5), "2.5");
        assert_eq!(number_label(150.0), "150");
        assert_eq!(number_label(1200.0), "1.2k");
        assert_eq!(number_label(31_700.0), "31.7k");
        assert_eq!(number_label(2_000_000.0), "2M");
    }

    #[test]
    fn spectrum_axis_places_nines_a_decade_apart() {
        assert_eq!(spectrum_x(0.0), 1.0);
        assert!((spectrum_x(90.0) - 10.0).abs() < 1e-9);
        assert!((spectrum_x(99.9) - 1000.0).abs() < 1e-6);
        assert_eq!(spectrum_label(1.0), "0%");
        assert_eq!(spectrum_label(10.0), "90%");
        assert_eq!(spectrum_label(1000.0), "99.9%");
        assert!(spectrum_x(100.0).is_finite());
    }
}
