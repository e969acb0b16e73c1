#!/usr/bin/env python3
"""Prints the results tables of benchmarks/README.md from a BenchmarkDotNet run's CSV reports.

usage: python3 benchmarks/summarize.py [BenchmarkDotNet.Artifacts/results]
"""
import csv
import os
import sys

UNITS = {"ns": 1e-6, "μs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1e3}
ROWS = ["naive, 1 thread", "library, 1 thread", "library, all cores", "copy, 1 thread", "copy, all cores", "vector copy, 1 thread"]


def milliseconds(text):
    value, unit = text.replace(",", "").split()
    return float(value) * UNITS[unit]


def table(path):
    times, allocated = {}, {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            key = (row["Shape"], row["Method"].strip("'"))
            times[key] = milliseconds(row["Mean"])
            allocated[key] = row["Allocated"].replace(" ", "\u00a0")
    print("| shape | naive 1T | library 1T | library all | copy 1T | copy all | vector copy 1T "
          "| lib 1T / copy 1T | lib 1T / vector copy | lib all / copy all | naive / lib 1T | 1T / all | allocated |")
    print("| --- |" + " ---: |" * 12)
    for shape in sorted({s for s, _ in times}):
        naive, one, all_, copy1, copy_all, vector = (times[(shape, r)] for r in ROWS)
        cells = [f"{t:.3f} ms" for t in (naive, one, all_, copy1, copy_all, vector)]
        cells += [f"{one / copy1:.2f}×", f"{one / vector:.2f}×", f"{all_ / copy_all:.2f}×", f"{naive / one:.2f}×", f"{one / all_:.2f}×"]
        cells.append(f"{allocated[(shape, ROWS[1])]} / {allocated[(shape, ROWS[2])]}")
        print(f"| {shape} | " + " | ".join(cells) + " |")


def main():
    results = sys.argv[1] if len(sys.argv) > 1 else "BenchmarkDotNet.Artifacts/results"
    for name in ["TrainingForward", "EvalForward", "Backward", "Statistics"]:
        path = os.path.join(results, f"BatchNorm.Benchmarks.{name}-report.csv")
        if os.path.exists(path):
            print(f"\n### {name}\n")
            table(path)


if __name__ == "__main__":
    main()
