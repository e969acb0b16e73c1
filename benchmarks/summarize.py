#!/usr/bin/env python3
"""Prints the results tables of benchmarks/README.md from a BenchmarkDotNet run's CSV reports.

usage: python3 benchmarks/summarize.py [BenchmarkDotNet.Artifacts/results]
"""
import csv
import os
import sys

UNITS = {"ns": 1e-6, "μs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1e3}
ROWS = ["naive, 1 thread", "TensorPrimitives composition, 1 thread", "library, 1 thread", "library, all cores",
        "copy, 1 thread", "copy, all cores", "vector copy, 1 thread"]
# (title, numerator row, denominator row), each a ratio of mean times
RATIOS = [
    ("lib 1T / copy 1T", "library, 1 thread", "copy, 1 thread"),
    ("lib 1T / vector copy", "library, 1 thread", "vector copy, 1 thread"),
    ("lib all / copy all", "library, all cores", "copy, all cores"),
    ("naive / lib 1T", "naive, 1 thread", "library, 1 thread"),
    ("lib 1T / composition 1T", "library, 1 thread", "TensorPrimitives composition, 1 thread"),
    ("1T / all", "library, 1 thread", "library, all cores"),
]


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
    print("| shape | naive 1T | composition 1T | library 1T | library all | copy 1T | copy all | vector copy 1T | "
          + " | ".join(title for title, _, _ in RATIOS) + " | allocated |")
    print("| --- |" + " ---: |" * (len(ROWS) + len(RATIOS) + 1))
    for shape in sorted({s for s, _ in times}):
        cells = [f"{times[(shape, r)]:.3f} ms" if (shape, r) in times else "–" for r in ROWS]
        for _, numerator, denominator in RATIOS:
            if (shape, numerator) in times and (shape, denominator) in times:
                cells.append(f"{times[(shape, numerator)] / times[(shape, denominator)]:.2f}×")
            else:
                cells.append("–")
        cells.append(f"{allocated.get((shape, 'library, 1 thread'), '–')} / {allocated.get((shape, 'library, all cores'), '–')}")
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
