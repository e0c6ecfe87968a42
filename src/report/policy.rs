//! The report of `vpce-audit policy`: the [`Analysis`] of a bucket policy as a table
//! per action plus the list of gaps, or as JSON (the analysis serialised as is).
//!
//! Policy text is not trusted either (it may come from someone else's account), so
//! every value taken from it is escaped for the terminal.

use std::io::{self, Write};

use super::grid::{Cell, Column, Grid, Kind, Screen, Tone};
use crate::check::bucket_policy::Analysis;
use crate::escape;

/// Writes the analysis as one JSON document followed by a newline.
pub fn write_json(a: &Analysis, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, a)?;
    out.write_all(b"\n")
}

/// Writes the analysis for a terminal.
pub fn write_table(a: &Analysis, out: &mut dyn Write, screen: &Screen) -> io::Result<()> {
    let t = |s: &str| escape::terminal(s.as_bytes()).into_owned();
    let verdict = match a.status.name() {
        "enforced" => Cell::from("denied for every action").tone(Tone::Good),
        "partial" => Cell::from("denied only in part").tone(Tone::Warn),
        _ => Cell::from("NOT denied for some actions").tone(Tone::Bad),
    };
    screen.say_with(
        out,
        &format!(
            "bucket policy{}: {} statement(s); requests from outside the VPC endpoint:",
            a.bucket
                .as_deref()
                .map(|b| format!(" of {}", t(b)))
                .unwrap_or_default(),
            a.statements,
        ),
        &verdict,
    )?;
    let show_vpcs = a.actions.iter().any(|r| !r.vpcs.is_empty());
    let show_ips = a.actions.iter().any(|r| !r.vpc_source_ips.is_empty());
    let mut columns = vec![
        Column::keep("action", Kind::Text),
        Column::keep("level", Kind::Atom),
        Column::keep("status", Kind::Atom),
        Column::keep("allowed endpoints", Kind::Text),
    ];
    if show_vpcs {
        columns.push(Column::drop("allowed VPCs", Kind::Text, 2));
    }
    if show_ips {
        columns.push(Column::drop("allowed VPC source IPs", Kind::Text, 3));
    }
    columns.push(Column::drop("denied by", Kind::Text, 1));
    let mut table = Grid::new(&columns);
    let list = |v: &[String]| -> String {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.iter().map(|s| t(s)).collect::<Vec<_>>().join(", ")
        }
    };
    for r in &a.actions {
        let endpoints = if r.any_endpoint && r.endpoints.is_empty() {
            "any endpoint".to_string()
        } else {
            list(&r.endpoints)
        };
        let status = Cell::from(r.status.name());
        let status = match r.status.name() {
            "enforced" => status.tone(Tone::Good),
            "partial" => status.tone(Tone::Warn),
            _ => status.tone(Tone::Bad),
        };
        let mut row = vec![
            Cell::from(t(&r.action)),
            Cell::from(r.level.name()),
            status,
            Cell::from(endpoints),
        ];
        if show_vpcs {
            row.push(Cell::from(list(&r.vpcs)));
        }
        if show_ips {
            row.push(Cell::from(list(&r.vpc_source_ips)));
        }
        row.push(Cell::from(list(&r.statements)));
        table.row(row);
    }
    table.write(out, screen)?;
    if a.gaps.is_empty() {
        writeln!(out, "no gaps found")?;
        return Ok(());
    }
    writeln!(out, "gaps:")?;
    for g in &a.gaps {
        let mut line = format!("  - [{}] ", g.kind.name());
        if !g.actions.is_empty() {
            let names: Vec<String> = g.actions.iter().map(|a| t(a)).collect();
            line += &format!("{}: ", names.join(", "));
        }
        line += &t(&g.message);
        if !g.statement.is_empty() {
            line += &format!(" (statement {})", t(&g.statement));
        }
        screen.say(out, &line)?;
    }
    Ok(())
}
