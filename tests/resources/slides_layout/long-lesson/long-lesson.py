# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: long-lesson
#     title: Cleaning a survey with pandas
#     level: beginner
#     minutes: 45
#     objectives: [Load and inspect a table, Clean it, Plot it]
# ---

# %% [markdown]
# # Cleaning a survey with pandas
#
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/example/survey/main) ![tests](https://img.shields.io/badge/tests-passing-brightgreen.svg)
#
# This lesson walks through a small but realistic survey: four hundred answers about commuting,
# collected over a month by a city's transport office. Nobody designed the form with analysis in
# mind, so the table has the usual problems: free-text answers where a number was expected, a
# date column stored as text, duplicated rows from people who pressed the submit button twice,
# and a handful of answers that are plainly impossible, like a commute of minus five minutes.
#
# We will load the table, look at it from several angles, clean it one problem at a time, and end
# with three plots that answer the office's question: does the new bus line shorten commutes for
# the people who live along it? Along the way you will meet the pandas idioms that come back in
# every analysis: boolean masks, `groupby`, `merge`, `pivot_table` and the plotting methods.
#
# Every step is small on purpose. When you teach this, pause after each output and ask what the
# learners expect the next line to print; most of the bugs people write in pandas come from a
# wrong picture of the shape of a table, and predicting outputs is the cheapest way to fix that.
#
# <img src="survey-form.png" alt="The paper form the survey used" width="480">

# %%
import numpy as np
import pandas as pd
import matplotlib.pyplot as plt

pd.set_option("display.max_rows", 100)
rng = np.random.default_rng(7)

# %% [markdown]
# ## Loading the data
#
# The office sent a CSV export; here we build the same table in memory so the lesson runs
# anywhere. Each row is one answer.

# %%
n = 400
districts = np.array(["north", "south", "east", "west", "centre"])
survey = pd.DataFrame(
    {
        "answer_id": np.arange(n),
        "district": rng.choice(districts, n),
        "minutes": rng.normal(34, 12, n).round(1),
        "mode": rng.choice(["bus", "bike", "car", "walk", "train"], n),
        "near_new_line": rng.random(n) < 0.3,
        "age": rng.integers(16, 80, n),
        "date": pd.date_range("2026-03-01", periods=n, freq="110min").strftime("%Y-%m-%d"),
    }
)
survey.head(80)

# %% [markdown]
# The table is wide as well as long once we add the answers to the twenty yes/no questions at the
# end of the form:

# %%
questions = pd.DataFrame(
    rng.integers(0, 2, (n, 24)), columns=[f"q{i:02d}_agrees_with_statement" for i in range(24)]
)
wide = pd.concat([survey, questions], axis=1)
wide.head(3)

# %% [markdown]
# ### Checking every column
#
# Before cleaning anything, print a short report of every column: its type, how many values are
# missing, and a few examples. This long output is exactly what you would scroll through in a
# notebook; on a slide only its beginning and end are shown.

# %%
for name in wide.columns:
    column = wide[name]
    examples = ", ".join(str(v) for v in column.head(3))
    print(f"{name:32s} {str(column.dtype):8s} missing={column.isna().sum():3d}  e.g. {examples}")
for district, group in wide.groupby("district"):
    print(f"{district:8s} answers={len(group):4d} mean minutes={group['minutes'].mean():6.1f}")

# %% [markdown]
# ## Cleaning, one problem at a time
#
# The steps below are the ones a careful analyst takes, in the order they usually happen:
#
# 1. Drop exact duplicate rows (double submissions).
# 2. Parse the date column into real dates.
# 3. Remove impossible commutes (negative, or longer than three hours).
# 4. Normalise the district names (spelling and capitals vary).
# 5. Turn the mode of transport into a categorical column.
# 6. Check the age range and remove test answers from staff (age under 16).
# 7. Flag answers given on weekends, which the office treats separately.
# 8. Recompute the summary table and compare it with the first one.
# 9. Write down every decision in a short changelog next to the data.
# 10. Save the cleaned table under a new name, never over the raw export.
# 11. Re-run the whole notebook from the top to check it is reproducible.
# 12. Ask a colleague to read the changelog and challenge one decision.
#
# Each step gets its own cell, so that a failure points at one decision.

# %%
def clean(frame):
    """Return a cleaned copy of the survey table; the raw table is never changed."""
    out = frame.drop_duplicates().copy()

    out["date"] = pd.to_datetime(out["date"], format="%Y-%m-%d")
    out["weekend"] = out["date"].dt.dayofweek >= 5

    too_short = out["minutes"] < 0
    too_long = out["minutes"] > 180
    out = out[~(too_short | too_long)]

    out["district"] = out["district"].str.strip().str.lower()
    known = {"north", "south", "east", "west", "centre"}
    unknown = sorted(set(out["district"]) - known)
    if unknown:
        raise ValueError(f"unknown districts: {unknown}")

    out["mode"] = pd.Categorical(out["mode"], categories=["walk", "bike", "bus", "train", "car"])

    staff = out["age"] < 16
    out = out[~staff]

    out = out.sort_values(["district", "date"])
    out = out.reset_index(drop=True)

    summary = out.groupby("district")["minutes"].agg(["count", "mean", "median"])
    summary["mean"] = summary["mean"].round(1)

    changelog = [
        f"dropped {len(frame) - len(frame.drop_duplicates())} duplicate rows",
        f"dropped {int(too_short.sum())} negative and {int(too_long.sum())} very long commutes",
        f"dropped {int(staff.sum())} staff test answers",
    ]

    return out, summary, changelog


clean_survey, summary, changelog = clean(wide)
print("\n".join(changelog))
summary

# %% [markdown]
# #### A note on order
#
# Dropping duplicates before anything else matters: two identical rows stay identical only until
# you start changing values, so doing it later can keep both copies of a double submission.

# %% [markdown]
# ## Plots that answer the question
#
# Three views of the same cleaned table.

# %%
fig, ax = plt.subplots(figsize=(6, 9))
clean_survey.boxplot(column="minutes", by="near_new_line", ax=ax)
ax.set_title("Commute minutes, by distance to the new line")
plt.show()

# %%
fig, ax = plt.subplots(figsize=(14, 4))
clean_survey.groupby("date")["minutes"].mean().plot(ax=ax)
ax.set_ylabel("mean minutes")
plt.show()

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 5))
clean_survey["mode"].value_counts().plot.bar(ax=axes[0])
clean_survey["age"].plot.hist(bins=20, ax=axes[1])
plt.show()

# %% [markdown]
# ## When it goes wrong
#
# A typo in a column name deep inside a helper gives a long traceback; on the slide you see the
# frames in this lesson's code and the error, not pandas' internals.

# %% tags=["raises-exception"]
def district_means(frame, column):
    return frame.groupby("district")[column].mean()


def report(frame):
    return district_means(frame, "minuts")


report(clean_survey)

# %% [markdown]
# ## Summary
#
# - Clean one problem per cell, and keep the raw table.
# - Predict every output before you run the cell.
# - Plots answer the question only after the table is clean.
