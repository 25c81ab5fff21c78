//! # iisql-chart
//!
//! Charts of query results: bar, column, line, area and pie, as SVG or PNG, drawn with
//! [`plotters`]. The axes are chosen from the result's columns ([`ChartData::from_batches`]):
//! a timestamp on x for a time series, categories and counts otherwise.
//!
//! ```no_run
//! # async fn demo(ctx: datafusion::prelude::SessionContext) -> datafusion::error::Result<()> {
//! use iisql_chart::{ChartOptions, ImageFormat, render};
//! let batches = ctx
//!     .sql("SELECT date_trunc('hour', timestamp) AS hour, count(*) AS hits FROM logs GROUP BY 1")
//!     .await?
//!     .collect()
//!     .await?;
//! let svg = render(&batches, &ChartOptions::default(), ImageFormat::Svg)?;
//! std::fs::write("hits.svg", svg)?;
//! # Ok(()) }
//! ```

pub mod data;
pub mod draw;

use std::path::Path;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;

pub use data::{ChartData, Series, XAxis};

/// The shape of a chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChartKind {
    /// Horizontal bars, one group per category (series side by side).
    Bar,
    /// Horizontal bars, the series stacked.
    BarStacked,
    /// Vertical columns, one group per x point (series side by side).
    Column,
    /// Vertical columns, the series stacked.
    ColumnStacked,
    /// Lines, one per series.
    Line,
    /// Filled areas, the series stacked.
    Area,
    /// A pie of the first series.
    Pie,
}

impl ChartKind {
    /// Every kind's name, as [`ChartKind::parse`] takes it.
    pub const NAMES: &'static [&'static str] = &[
        "bar",
        "bar-stacked",
        "column",
        "column-stacked",
        "line",
        "area",
        "pie",
    ];

    /// A kind by name: ours (`bar`, `column-stacked`, ...) or Log Parser's chart types
    /// (`ColumnClustered`, `BarStacked`, `LineMarkers`, `AreaStacked`, `Pie3D`...), any case.
    pub fn parse(s: &str) -> Option<Self> {
        let k: String = s
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        Some(match k.as_str() {
            "bar" | "barclustered" | "bar3dclustered" => Self::Bar,
            "barstacked" | "bar3dstacked" | "barstacked100" => Self::BarStacked,
            "column" | "columnclustered" | "column3dclustered" | "col" => Self::Column,
            "columnstacked" | "column3dstacked" | "columnstacked100" => Self::ColumnStacked,
            "line" | "linemarkers" | "linestacked" | "smoothline" | "line3d" => Self::Line,
            "area" | "areastacked" | "areastacked100" | "area3d" => Self::Area,
            "pie" | "pie3d" | "pieexploded" | "doughnut" => Self::Pie,
            _ => return None,
        })
    }

    /// The kind that suits `data` best: a line over time (columns for one or two points),
    /// columns for a few short categories, horizontal bars otherwise.
    pub fn auto(data: &ChartData) -> Self {
        match &data.x {
            XAxis::Time(t) if t.len() <= 2 => Self::Column,
            XAxis::Time(_) => Self::Line,
            XAxis::Categories(c) => {
                if c.len() <= 12 && c.iter().all(|l| l.chars().count() <= 14) {
                    Self::Column
                } else {
                    Self::Bar
                }
            }
        }
    }
}

impl std::fmt::Display for ChartKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Bar => "bar",
            Self::BarStacked => "bar-stacked",
            Self::Column => "column",
            Self::ColumnStacked => "column-stacked",
            Self::Line => "line",
            Self::Area => "area",
            Self::Pie => "pie",
        })
    }
}

/// The file a chart is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// Scalable vector graphics (text stays text).
    Svg,
    /// A PNG picture.
    Png,
    /// A GIF picture (what Log Parser's charts write by default).
    Gif,
    /// A JPEG picture.
    Jpeg,
}

impl ImageFormat {
    /// The format a file name's extension asks for (`.svg`, `.png`, `.gif`, `.jpg`).
    pub fn for_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "svg" => Some(Self::Svg),
            "png" => Some(Self::Png),
            "gif" => Some(Self::Gif),
            "jpg" | "jpeg" => Some(Self::Jpeg),
            _ => None,
        }
    }
}

/// A colour, red, green and blue.
pub type Rgb = (u8, u8, u8);

/// How a chart is drawn.
#[derive(Debug, Clone)]
pub struct ChartOptions {
    /// The shape; `None` picks one from the data ([`ChartKind::auto`]).
    pub kind: Option<ChartKind>,
    /// The title; `None` makes one from the column names ("hits by hour").
    pub title: Option<String>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Colours for series (or pie slices) by name; the others take the palette's in turn.
    pub colors: Vec<(String, Rgb)>,
}

impl Default for ChartOptions {
    fn default() -> Self {
        Self {
            kind: None,
            title: None,
            width: 1000,
            height: 560,
            colors: Vec::new(),
        }
    }
}

/// What can go wrong drawing a chart.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The result has no rows.
    #[error("the query returned no rows: nothing to chart")]
    NoRows,
    /// The result's columns cannot make a chart.
    #[error("cannot chart this result: {0}")]
    Data(String),
    /// Reading the result's columns failed.
    #[error("cannot chart this result: {0}")]
    Arrow(#[from] ArrowError),
    /// Drawing failed.
    #[error("drawing the chart failed: {0}")]
    Draw(String),
    /// Encoding the PNG failed.
    #[error("encoding the PNG failed: {0}")]
    Png(#[from] png::EncodingError),
    /// Writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl From<ChartError> for DataFusionError {
    fn from(e: ChartError) -> Self {
        DataFusionError::External(Box::new(e))
    }
}

/// The title a chart gets when none is given: "hits by hour", "hits by hour and outcome".
pub fn default_title(data: &ChartData) -> String {
    let x = data.x_label.trim_end_matches(" (UTC)");
    if data.y_label.is_empty() {
        x.to_string()
    } else {
        format!("{} by {x}", data.y_label)
    }
}

/// Draws `data` as `format`; the bytes of an SVG document or a PNG file.
pub fn render_data(
    data: &ChartData,
    options: &ChartOptions,
    format: ImageFormat,
) -> Result<Vec<u8>, ChartError> {
    let mut data = data.clone();
    let kind = options.kind.unwrap_or_else(|| ChartKind::auto(&data));
    if matches!(
        kind,
        ChartKind::Bar | ChartKind::BarStacked | ChartKind::Column | ChartKind::ColumnStacked
    ) {
        data.truncate_categories(data::MAX_CATEGORIES);
    }
    let title = options
        .title
        .clone()
        .unwrap_or_else(|| default_title(&data));
    let spec = draw::Spec {
        data: &data,
        kind,
        title: &title,
        colors: &options.colors,
    };
    draw::render(
        &spec,
        options.width.max(200),
        options.height.max(150),
        format,
    )
}

/// Draws a query result (its axes chosen by [`ChartData::from_batches`]) as `format`.
pub fn render(
    batches: &[RecordBatch],
    options: &ChartOptions,
    format: ImageFormat,
) -> Result<Vec<u8>, ChartError> {
    render_data(&ChartData::from_batches(batches)?, options, format)
}

/// Draws a query result into the file at `path`, SVG, PNG, GIF or JPEG by its extension.
pub fn render_to_file(
    batches: &[RecordBatch],
    options: &ChartOptions,
    path: &Path,
) -> Result<(), ChartError> {
    let format = ImageFormat::for_path(path).ok_or_else(|| {
        ChartError::Data(format!(
            "{}: a chart is written as .svg, .png, .gif or .jpg",
            path.display()
        ))
    })?;
    let bytes = render(batches, options, format)?;
    std::fs::write(path, bytes).map_err(|source| ChartError::Io {
        path: path.display().to_string(),
        source,
    })
}
