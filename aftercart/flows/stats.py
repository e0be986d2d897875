"""The statistics behind the lift report: intervals for a difference, nothing else.

Pure functions on counts and sums, so they can be checked against textbook values.
No NumPy or SciPy: the report needs two quantiles and a square root, and the project
does not ship SciPy for that.

* One proportion: the Wilson score interval (Wilson 1927). Unlike the textbook
  p ± z·√(p(1−p)/n) it stays inside [0, 1] and does not collapse to zero width when
  nobody (or everybody) converted, which is exactly the small-shop case.
* A difference of two proportions: Newcombe's hybrid score interval (Newcombe 1998,
  method 10), built from the two Wilson intervals; good coverage for small groups and
  rates near 0, where the Wald interval is too narrow.
* A ratio of two proportions (relative lift): the Katz log interval.
* A difference of two means (revenue per customer): Welch's t interval, which does not
  assume the two groups spread alike (the control group is ten times smaller).
"""

from dataclasses import dataclass
from math import exp, log, sqrt

# The 97.5th percentile of the standard normal: a two-sided 95 % interval.
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Interval:
    """An estimate and its 95 % confidence interval."""

    estimate: float
    low: float
    high: float

    @property
    def above_zero(self) -> bool:
        return self.low > 0

    @property
    def below_zero(self) -> bool:
        return self.high < 0

    @property
    def spans_zero(self) -> bool:
        return self.low <= 0 <= self.high


def wilson(successes: int, n: int, z: float = Z95) -> Interval:
    """The Wilson score interval of successes / n."""
    if n <= 0:
        raise ValueError("wilson: n must be at least 1")
    if not 0 <= successes <= n:
        raise ValueError(f"wilson: successes must be between 0 and n ({successes} of {n})")
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # Rounding can put a bound a hair outside [0, 1] or past p when p is 0 or 1.
    return Interval(p, max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half)))


def newcombe(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> Interval:
    """The difference x1/n1 − x2/n2 with Newcombe's hybrid score interval."""
    a, b = wilson(x1, n1, z), wilson(x2, n2, z)
    d = a.estimate - b.estimate
    low = d - sqrt((a.estimate - a.low) ** 2 + (b.high - b.estimate) ** 2)
    high = d + sqrt((a.high - a.estimate) ** 2 + (b.estimate - b.low) ** 2)
    return Interval(d, low, high)


def relative(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> Interval | None:
    """(x1/n1) / (x2/n2) − 1, the relative lift, with the Katz log interval.

    None when either group has no successes: a ratio to (or of) zero has no interval.
    """
    if x1 <= 0 or x2 <= 0 or n1 <= 0 or n2 <= 0:
        return None
    ratio = (x1 / n1) / (x2 / n2)
    se = sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
    return Interval(ratio - 1, exp(log(ratio) - z * se) - 1, exp(log(ratio) + z * se) - 1)


@dataclass(frozen=True)
class Sample:
    """A group's values as sums: n, Σx and Σx², enough for a mean and a variance."""

    n: int
    total: float
    squares: float

    @property
    def mean(self) -> float:
        return self.total / self.n

    @property
    def variance(self) -> float:
        """The sample variance (n − 1 in the denominator)."""
        if self.n < 2:
            return 0.0
        # max(): catastrophic cancellation can leave a tiny negative for equal values.
        return max(0.0, (self.squares - self.total * self.total / self.n) / (self.n - 1))


def welch(a: Sample, b: Sample, level: float = 0.975) -> Interval:
    """The difference of means a − b with Welch's t interval (Welch–Satterthwaite df)."""
    if a.n < 2 or b.n < 2:
        raise ValueError("welch: each group needs at least two values")
    d = a.mean - b.mean
    se2 = a.variance / a.n + b.variance / b.n
    if se2 == 0:
        return Interval(d, d, d)
    half = t_quantile(level, welch_df(a, b)) * sqrt(se2)
    return Interval(d, d - half, d + half)


def welch_df(a: Sample, b: Sample) -> float:
    """The Welch–Satterthwaite degrees of freedom of a − b."""
    va, vb = a.variance / a.n, b.variance / b.n
    return (va + vb) ** 2 / (va * va / (a.n - 1) + vb * vb / (b.n - 1))


def t_quantile(level: float, df: float) -> float:
    """Student's t quantile, by the Cornish–Fisher expansion (Abramowitz & Stegun 26.7.5).

    At the 97.5th percentile it is off by 0.004 at 3 degrees of freedom and by less than
    0.001 from 5 up; the report never gets near that few, because groups under 100
    customers are "too small to tell" before any interval is drawn.
    """
    if df <= 0:
        raise ValueError("t_quantile: degrees of freedom must be positive")
    x = normal_quantile(level)
    g1 = (x**3 + x) / 4
    g2 = (5 * x**5 + 16 * x**3 + 3 * x) / 96
    g3 = (3 * x**7 + 19 * x**5 + 17 * x**3 - 15 * x) / 384
    g4 = (79 * x**9 + 776 * x**7 + 1482 * x**5 - 1920 * x**3 - 945 * x) / 92160
    return x + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def normal_quantile(p: float) -> float:
    """The standard normal quantile, by Acklam's rational approximation (error < 1.2e-9)."""
    if not 0 < p < 1:
        raise ValueError("normal_quantile: p must be between 0 and 1")
    a = (-39.69683028665376, 220.9460984245205, -275.9285104469687,
         138.3577518672690, -30.66479806614716, 2.506628277459239)  # fmt: skip
    b = (-54.47609879822406, 161.5858368580409, -155.6989798598866,
         66.80131188771972, -13.28068155288572)  # fmt: skip
    c = (-0.007784894002430293, -0.3223964580411365, -2.400758277161838,
         -2.549732539343734, 4.374664141464968, 2.938163982698783)  # fmt: skip
    d = (0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416)
    if p < 0.02425:
        q = sqrt(-2 * log(p))
        num = ((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]
        return num / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    if p > 1 - 0.02425:
        return -normal_quantile(1 - p)
    q = p - 0.5
    r = q * q
    num = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
    return num / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
