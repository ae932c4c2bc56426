//! The date transform: a date column becomes calendar features a model can split or weigh — year, month, day
//! of week, day of year and, when training saw times of day, hour; the periodic ones also as a sine/cosine
//! pair, so December sits next to January; and days since 1970-01-01, for trends. A missing date is imputed
//! with the median training instant; every derived feature is then standardised as a numeric column is.

use serde::{Deserialize, Serialize};

use super::fit_numeric;
use super::FeatureTransform;
use crate::data::dates::{date_parts, DateParts};

/// One feature derived from a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateFeature {
    Year,
    Month,
    MonthSin,
    MonthCos,
    DayOfWeek,
    DayOfWeekSin,
    DayOfWeekCos,
    DayOfYear,
    DayOfYearSin,
    DayOfYearCos,
    Hour,
    HourSin,
    HourCos,
    DaysSinceEpoch,
}

impl DateFeature {
    /// Derived from every date column.
    const DATE: [DateFeature; 11] = [
        DateFeature::Year,
        DateFeature::Month,
        DateFeature::MonthSin,
        DateFeature::MonthCos,
        DateFeature::DayOfWeek,
        DateFeature::DayOfWeekSin,
        DateFeature::DayOfWeekCos,
        DateFeature::DayOfYear,
        DateFeature::DayOfYearSin,
        DateFeature::DayOfYearCos,
        DateFeature::DaysSinceEpoch,
    ];
    /// Derived too from a column whose training values had times of day.
    const TIME: [DateFeature; 3] = [DateFeature::Hour, DateFeature::HourSin, DateFeature::HourCos];

    pub fn as_str(self) -> &'static str {
        match self {
            DateFeature::Year => "year",
            DateFeature::Month => "month",
            DateFeature::MonthSin => "month_sin",
            DateFeature::MonthCos => "month_cos",
            DateFeature::DayOfWeek => "day_of_week",
            DateFeature::DayOfWeekSin => "day_of_week_sin",
            DateFeature::DayOfWeekCos => "day_of_week_cos",
            DateFeature::DayOfYear => "day_of_year",
            DateFeature::DayOfYearSin => "day_of_year_sin",
            DateFeature::DayOfYearCos => "day_of_year_cos",
            DateFeature::Hour => "hour",
            DateFeature::HourSin => "hour_sin",
            DateFeature::HourCos => "hour_cos",
            DateFeature::DaysSinceEpoch => "days_since_epoch",
        }
    }

    /// The feature's value for a date's fields (before scaling).
    pub fn value(self, p: &DateParts) -> f64 {
        use std::f64::consts::TAU;
        // The position in each cycle, 0 at its start: month 1, Monday, 1 January, midnight.
        let month = f64::from(p.month - 1) / 12.0;
        let week = f64::from(p.day_of_week - 1) / 7.0;
        let year = f64::from(p.day_of_year - 1) / f64::from(p.days_in_year);
        let day = f64::from(p.hour) / 24.0;
        match self {
            // Years 0000–9999.
            DateFeature::Year => p.year as f64,
            DateFeature::Month => f64::from(p.month),
            DateFeature::MonthSin => (TAU * month).sin(),
            DateFeature::MonthCos => (TAU * month).cos(),
            DateFeature::DayOfWeek => f64::from(p.day_of_week),
            DateFeature::DayOfWeekSin => (TAU * week).sin(),
            DateFeature::DayOfWeekCos => (TAU * week).cos(),
            DateFeature::DayOfYear => f64::from(p.day_of_year),
            DateFeature::DayOfYearSin => (TAU * year).sin(),
            DateFeature::DayOfYearCos => (TAU * year).cos(),
            DateFeature::Hour => f64::from(p.hour),
            DateFeature::HourSin => (TAU * day).sin(),
            DateFeature::HourCos => (TAU * day).cos(),
            DateFeature::DaysSinceEpoch => p.days_since_epoch,
        }
    }
}

/// A fitted date column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DateTransform {
    /// The imputed instant, seconds since the epoch: the median of the training values.
    pub median: f64,
    /// The derived features, in matrix order, each standardised as `(x - mean) / scale`.
    pub derived: Vec<DerivedFeature>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DerivedFeature {
    pub feature: DateFeature,
    pub mean: f64,
    pub scale: f64,
}

impl DateTransform {
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.derived.iter().map(|d| d.feature.as_str())
    }

    /// Writes row `i`'s derived features at `out[i * width..]` for each of `rows` of `values`; returns how many
    /// cells were imputed.
    pub(super) fn encode(&self, values: &[f64], rows: &[usize], out: &mut [f64], width: usize) -> usize {
        let mut imputed = 0;
        for (i, &row) in rows.iter().enumerate() {
            let mut x = values[row];
            if x.is_nan() {
                x = self.median;
                imputed += 1;
            }
            let parts = date_parts(x);
            for (k, d) in self.derived.iter().enumerate() {
                out[i * width + k] = (d.feature.value(&parts) - d.mean) / d.scale;
            }
        }
        imputed
    }
}

/// Fits a date column on `rows`: None when it has no value there.
pub(super) fn fit_date(values: &[f64], rows: &[usize]) -> Option<FeatureTransform> {
    let Some(FeatureTransform::Numeric { median, .. }) = fit_numeric(values, rows) else { return None };
    let present = || rows.iter().map(|&r| values[r]).filter(|x| !x.is_nan());
    let has_time = present().any(|x| x.rem_euclid(86_400.0) != 0.0);
    let parts: Vec<DateParts> =
        rows.iter().map(|&r| date_parts(if values[r].is_nan() { median } else { values[r] })).collect();
    let all = (0..parts.len()).collect::<Vec<_>>();
    let features = DateFeature::DATE.iter().chain(if has_time { &DateFeature::TIME[..] } else { &[] });
    let mut derived: Vec<DerivedFeature> = Vec::new();
    for &feature in features {
        let column: Vec<f64> = parts.iter().map(|p| feature.value(p)).collect();
        let Some(FeatureTransform::Numeric { mean, scale, .. }) = fit_numeric(&column, &all) else { return None };
        derived.push(DerivedFeature { feature, mean, scale });
    }
    // Hour before days since the epoch: the calendar fields first, the trend last.
    derived.sort_by_key(|d| d.feature as u8);
    Some(FeatureTransform::Date(DateTransform { median, derived }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::dates::parse_date;

    fn fitted(cells: &[&str]) -> DateTransform {
        let values: Vec<f64> = cells.iter().map(|c| parse_date(c).unwrap_or(f64::NAN)).collect();
        match fit_date(&values, &(0..values.len()).collect::<Vec<_>>()) {
            Some(FeatureTransform::Date(t)) => t,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dates_derive_calendar_features_and_times_add_the_hour() {
        let dates = fitted(&["2024-01-01", "2024-07-01", "", "2023-12-31"]);
        let names: Vec<_> = dates.names().collect();
        assert_eq!(
            names,
            [
                "year",
                "month",
                "month_sin",
                "month_cos",
                "day_of_week",
                "day_of_week_sin",
                "day_of_week_cos",
                "day_of_year",
                "day_of_year_sin",
                "day_of_year_cos",
                "days_since_epoch"
            ]
        );
        assert_eq!(dates.median, parse_date("2024-01-01").unwrap());
        let times = fitted(&["2024-01-01T08:00", "2024-07-01"]);
        let names: Vec<_> = times.names().collect();
        assert_eq!(&names[10..], ["hour", "hour_sin", "hour_cos", "days_since_epoch"]);
    }

    #[test]
    fn encoded_values_are_the_standardised_fields_and_missing_is_the_median() {
        let cells = ["2024-01-01T06:00", "2024-07-01T18:00", "2023-12-31T00:00"];
        let t = fitted(&cells);
        let values: Vec<f64> = cells.iter().map(|c| parse_date(c).unwrap()).chain([f64::NAN]).collect();
        let width = t.derived.len();
        let mut out = vec![0.0; 4 * width];
        assert_eq!(t.encode(&values, &[0, 1, 2, 3], &mut out, width), 1);
        let raw = |row: usize, k: usize| out[row * width + k] * t.derived[k].scale + t.derived[k].mean;
        let month = t.derived.iter().position(|d| d.feature == DateFeature::Month).unwrap();
        let hour = t.derived.iter().position(|d| d.feature == DateFeature::HourSin).unwrap();
        assert!((raw(1, month) - 7.0).abs() < 1e-12);
        assert!((raw(1, hour) - (-1.0)).abs() < 1e-12, "18:00 is three quarters round the day");
        assert_eq!(&out[3 * width..], &out[..width], "the missing cell is the median, the first value");
        // Each derived column is centred on the training rows.
        for k in 0..width {
            let mean: f64 = (0..3).map(|r| out[r * width + k]).sum::<f64>() / 3.0;
            assert!(mean.abs() < 1e-9, "{:?}", t.derived[k].feature);
        }
    }

    /// Through the whole pipeline: a date column fits and transforms; the same dates as text (a frame typed
    /// otherwise) give the same matrix; a cell that is not a date is an error naming its row.
    #[test]
    fn the_pipeline_encodes_dates_from_dates_or_text_and_refuses_other_text() {
        use crate::data::frame::{Column, ColumnData, Frame, MISSING_CODE};
        use crate::pipeline::FittedPipeline;
        let cells = ["2024-01-01", "2024-07-15", "2023-12-31", ""];
        let frame =
            |data| Frame { source: "t.csv".into(), n_rows: 4, columns: vec![Column { name: "d".into(), data }] };
        let dates = frame(ColumnData::Date(cells.iter().map(|c| parse_date(c).unwrap_or(f64::NAN)).collect()));
        let p = FittedPipeline::fit(&dates, &["d".into()], &[0, 1, 2, 3], &crate::pipeline::PipelineSpec::default())
            .unwrap();
        assert_eq!(p.n_outputs(), 11);
        assert_eq!(p.output_names()[0], "d:year");
        assert_eq!(p.features[0].column_type(), crate::data::schema::ColumnType::Date);
        let (m, stats) = p.transform(&dates, None).unwrap();
        assert_eq!(stats.imputed.get("d"), Some(&1));
        let levels = cells[..3].iter().map(|c| (*c).to_owned()).collect();
        let text = frame(ColumnData::Categorical { codes: vec![0, 1, 2, MISSING_CODE], levels });
        assert_eq!(p.transform(&text, None).unwrap().0, m);
        let bad =
            frame(ColumnData::Categorical { codes: vec![0, 1, 0, 0], levels: vec!["2024-01-01".into(), "x".into()] });
        let err = p.transform(&bad, None).unwrap_err().to_string();
        assert!(err.contains("row 2, column \"d\"") && err.contains("\"x\""), "{err}");
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains("\"day_of_week_sin\""), "{json}");
        assert_eq!(serde_json::from_str::<FittedPipeline>(&json).unwrap(), p);
    }
}
