#!/usr/bin/env python3
"""Derives Winograd minimal-filtering matrices F(m, r) exactly (Toom-Cook) and checks them.

    y = AT · ((G · g) ⊙ (BT · d))   computes   y_i = Σ_κ g_κ d_{i+κ},  i < m, κ < r,  d of n = m + r − 1 inputs,

with the n − 1 finite points given and ∞: AT[i][ξ] = a_ξ^i (the ∞ column selects y_{m−1}'s top term), G[ξ][κ] = a_ξ^κ
(the ∞ row selects g_{r−1}), and BT solved from the identity Σ_ξ AT[i][ξ] G[ξ][κ] BT[ξ][j] = [j = i + κ] in exact
rational arithmetic. Sources/CIndexTTSKernels/winograd.c holds F(4, 4) with points 0, ±1, ±2, 1/2 and winograd45.c
F(4, 5) with 0, ±1, ±2, ±1/2. Plain Python 3 (fractions); no dependencies.

Usage: tools/winograd/derive.py [m r point ...]     (default: 4 5 0 1 -1 2 -2 1/2 -1/2)
"""
import random
import sys
from fractions import Fraction


def solve(rows, rhs):
    """The unique solution of a consistent, full-column-rank system (Gauss-Jordan on fractions)."""
    a = [row[:] + [b] for row, b in zip(rows, rhs)]
    cols = len(rows[0])
    pivot_row = 0
    for col in range(cols):
        pivot = next((r for r in range(pivot_row, len(a)) if a[r][col] != 0), None)
        if pivot is None:
            raise ValueError("the points do not determine the transform (repeated point?)")
        a[pivot_row], a[pivot] = a[pivot], a[pivot_row]
        p = a[pivot_row][col]
        a[pivot_row] = [v / p for v in a[pivot_row]]
        for r in range(len(a)):
            if r != pivot_row and a[r][col] != 0:
                f = a[r][col]
                a[r] = [v - f * w for v, w in zip(a[r], a[pivot_row])]
        pivot_row += 1
    if any(row[-1] != 0 for row in a[cols:]):
        raise ValueError("inconsistent system")
    return [a[c][-1] for c in range(cols)]


def derive(m, r, points):
    n = m + r - 1
    if len(points) != n - 1:
        raise ValueError(f"F({m}, {r}) needs {n - 1} finite points, got {len(points)}")
    at = [[p ** i for p in points] + [Fraction(1 if i == m - 1 else 0)] for i in range(m)]
    g = [[p ** k for k in range(r)] for p in points] + [[Fraction(0)] * (r - 1) + [Fraction(1)]]
    bt = [[None] * n for _ in range(n)]
    for j in range(n):
        rows, rhs = [], []
        for i in range(m):
            for k in range(r):
                rows.append([at[i][x] * g[x][k] for x in range(n)])
                rhs.append(Fraction(1 if j == i + k else 0))
        for x, value in enumerate(solve(rows, rhs)):
            bt[x][j] = value
    return at, g, bt


def check(m, r, at, g, bt, trials=100):
    """Largest error of the transforms in double precision against the direct correlation."""
    n = m + r - 1
    worst = 0.0
    for _ in range(trials):
        gv = [random.uniform(-1, 1) for _ in range(r)]
        dv = [random.uniform(-1, 1) for _ in range(n)]
        u = [sum(float(g[x][k]) * gv[k] for k in range(r)) for x in range(n)]
        v = [sum(float(bt[x][j]) * dv[j] for j in range(n)) for x in range(n)]
        for i in range(m):
            y = sum(float(at[i][x]) * u[x] * v[x] for x in range(n))
            worst = max(worst, abs(y - sum(gv[k] * dv[i + k] for k in range(r))))
    return worst


def main(argv):
    if len(argv) == 1:
        sys.exit("usage: derive.py [m r point ...]  (m and r together; points default to 0, ±1, ±2, ±1/2 for F(4, 5))")
    m, r = (int(argv[0]), int(argv[1])) if len(argv) >= 2 else (4, 5)
    points = [Fraction(p) for p in argv[2:]] or [Fraction(p) for p in ["0", "1", "-1", "2", "-2", "1/2", "-1/2"]]
    at, g, bt = derive(m, r, points)
    for name, matrix in (("AT", at), ("G", g), ("BT", bt)):
        print(f"{name} =")
        for row in matrix:
            print("  [" + ", ".join(f"{str(v):>7}" for v in row) + "]")
    print(f"largest error in double precision over 100 random cases: {check(m, r, at, g, bt):.2e}")


if __name__ == "__main__":
    main(sys.argv[1:])
