//! The throughput chart: refreshes per minute over the last hour as an
//! inline SVG bar chart (no script needed to see it; the page's script
//! moves the bars when new figures arrive, with the same geometry).

/// Width and height of the drawing area (the SVG scales to its box).
pub const WIDTH: u32 = 600;
pub const HEIGHT: u32 = 120;

/// Bar heights for `values`, scaled so the highest bar fills the chart.
pub fn bar_heights(values: &[u64]) -> Vec<f64> {
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    values.iter().map(|v| (*v as f64 / max * f64::from(HEIGHT)).round()).collect()
}

/// The chart of `per_minute` (oldest minute first, the current one last).
pub fn throughput_svg(per_minute: &[u64]) -> String {
    let n = per_minute.len().max(1);
    let slot = f64::from(WIDTH) / n as f64;
    let max = per_minute.iter().copied().max().unwrap_or(0);
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {total}\" role=\"img\" \
         aria-label=\"Refreshes per minute over the last hour, at most {max}\" data-chart=\"throughput\">",
        total = HEIGHT + 16
    );
    for (i, (v, h)) in per_minute.iter().zip(bar_heights(per_minute)).enumerate() {
        let ago = n - 1 - i;
        let x = i as f64 * slot + 1.0;
        svg.push_str(&format!(
            "<rect class=\"bar\" data-i=\"{i}\" x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"{h}\">\
             <title>{v} refreshes, {ago} min ago</title></rect>",
            y = f64::from(HEIGHT) - h,
            w = (slot - 2.0).max(1.0),
        ));
    }
    svg.push_str(&format!(
        "<line class=\"axis\" x1=\"0\" y1=\"{HEIGHT}\" x2=\"{WIDTH}\" y2=\"{HEIGHT}\"></line>\
         <text class=\"label\" x=\"0\" y=\"{ly}\">60 min ago</text>\
         <text class=\"label end\" x=\"{WIDTH}\" y=\"{ly}\">now · peak <tspan data-chart-max>{max}</tspan>/min</text>\
         </svg>",
        ly = HEIGHT + 13
    ));
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_bar_fills_the_chart_and_zero_draws_nothing() {
        assert_eq!(bar_heights(&[0, 5, 10]), vec![0.0, 60.0, 120.0]);
        assert_eq!(bar_heights(&[0, 0]), vec![0.0, 0.0]);
        let svg = throughput_svg(&[0; 60]);
        assert_eq!(svg.matches("<rect").count(), 60);
        assert!(svg.contains("peak <tspan data-chart-max>0</tspan>/min"));
        let mut v = vec![0; 60];
        v[59] = 7;
        let svg = throughput_svg(&v);
        assert!(svg.contains("data-i=\"59\" x=\"591.0\" y=\"0\" width=\"8.0\" height=\"120\""), "{svg}");
        assert!(svg.contains("<title>7 refreshes, 0 min ago</title>"));
    }
}
