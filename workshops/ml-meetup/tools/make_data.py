"""Regenerate the small CSV files that ship with the ml-meetup lessons.

Not a lesson (no ``workshopkit`` header), so workshopkit ignores it. The data is synthetic but
shaped like the real thing, and fully deterministic: running this script again rewrites
byte-identical files.

    python workshops/ml-meetup/tools/make_data.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

LESSONS = Path(__file__).resolve().parent.parent / "lessons"


def bike_rentals(rng: np.random.Generator) -> pd.DataFrame:
    """Daily rentals at one bike-share station: warmer and drier days mean more rides."""
    n = 90
    day = np.arange(1, n + 1)
    season = 14 + 9 * np.sin((day - 20) / n * np.pi)  # spring into summer
    temperature = season + rng.normal(0, 3.0, n)
    humidity = np.clip(70 - 1.2 * (temperature - 14) + rng.normal(0, 9, n), 25, 98)
    weekend = ((day + 2) % 7 >= 5).astype(int)
    rentals = 60 + 11 * temperature - 1.3 * humidity + 35 * weekend + rng.normal(0, 18, n)
    return pd.DataFrame(
        {
            "day": day,
            "temperature_c": temperature.round(1),
            "humidity_pct": humidity.round(0).astype(int),
            "weekend": weekend,
            "rentals": np.clip(rentals, 5, None).round(0).astype(int),
        }
    )


def house_prices(rng: np.random.Generator) -> pd.DataFrame:
    """Flat sales in a mid-sized city, with a few missing ages like a real export."""
    n = 160
    area = np.clip(rng.lognormal(np.log(78), 0.35, n), 28, 190)
    rooms = np.clip(np.round(area / 26 + rng.normal(0, 0.6, n)), 1, 7).astype(int)
    age = np.clip(rng.gamma(2.2, 14, n), 0, 110).round(0)
    distance = np.clip(rng.gamma(2.0, 3.2, n), 0.3, 30).round(1)
    hood = rng.choice(["centre", "riverside", "suburb"], size=n, p=[0.3, 0.2, 0.5])
    hood_bonus = pd.Series(hood).map({"centre": 45.0, "riverside": 30.0, "suburb": 0.0}).to_numpy()
    price = (
        35 + 2.9 * area + 9 * rooms - 0.55 * age - 4.2 * distance + hood_bonus
        + rng.normal(0, 22, n)
    )
    age = age.astype(float)
    age[rng.choice(n, size=7, replace=False)] = np.nan  # the seller did not say
    return pd.DataFrame(
        {
            "area_m2": area.round(0).astype(int),
            "rooms": rooms,
            "age_years": age,
            "distance_km": distance,
            "neighbourhood": hood,
            "price_k_eur": price.round(1),
        }
    )


def coffee_cooling(rng: np.random.Generator) -> pd.DataFrame:
    """A cup of coffee on a desk, measured with a kitchen thermometer every couple of minutes."""
    minutes = np.sort(rng.choice(np.arange(0, 61), size=26, replace=False)).astype(float)
    room, start, tau = 21.5, 86.0, 17.0
    temperature = room + (start - room) * np.exp(-minutes / tau) + rng.normal(0, 1.6, minutes.size)
    return pd.DataFrame({"minutes": minutes.astype(int), "temperature_c": temperature.round(1)})


def pull_requests(rng: np.random.Generator) -> pd.DataFrame:
    """Pull requests to an open-source project, and whether each was merged."""
    n = 240
    lines = np.clip(rng.lognormal(np.log(90), 1.0, n), 1, 4000).round(0).astype(int)
    files = 1 + rng.poisson(np.sqrt(lines) / 4)
    has_tests = (rng.random(n) < 0.55).astype(int)
    prior = rng.geometric(0.12, n) - 1
    z = -0.4 - 1.5 * (np.log(lines) - np.log(90)) + 1.8 * has_tests + 0.07 * prior - 0.1 * files
    merged = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return pd.DataFrame(
        {
            "lines_changed": lines,
            "files_touched": files,
            "has_tests": has_tests,
            "author_prior_prs": prior,
            "merged": merged,
        }
    )


def main() -> None:
    targets = {  # path -> (generator, seed); one seed per file, so adding a file changes no other
        "01-arrays-and-plots/bike_rentals.csv": (bike_rentals, 2026),
        "02-first-model/house_prices.csv": (house_prices, 2027),
        "03-train-test-overfitting/coffee_cooling.csv": (coffee_cooling, 2028),
        "07-gradient-descent/pull_requests.csv": (pull_requests, 2029),
    }
    for rel, (make, seed) in targets.items():
        df = make(np.random.default_rng(seed))
        path = LESSONS / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(path, index=False, lineterminator="\n")
        print(f"{path.relative_to(LESSONS.parent)}: {df.shape[0]} rows, {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
