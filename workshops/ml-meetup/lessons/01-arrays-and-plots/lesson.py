# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: arrays-and-plots
#     title: "Arrays and plots: the two tools under every ML library"
#     level: beginner
#     minutes: 25
#     tags: [numpy, matplotlib, data]
#     requires: []
#     objectives:
#       - Load a numeric CSV into a NumPy array and check its shape
#       - Slice features and targets, and summarise them along an axis
#       - Read a shape-mismatch error and fix it
#       - Draw a scatter plot and a histogram with matplotlib
#     kind: lesson
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # Arrays and plots
#
# Every ML library you will meet (scikit-learn, PyTorch, JAX) takes **arrays of numbers** in
# and gives arrays back. Today:
#
# 1. a CSV file becomes an array
# 2. rows, columns, shapes
# 3. a "model" that is one line of NumPy
# 4. two plots that tell you whether your data makes sense

# %% [markdown] slideshow={"slide_type": "notes"}
# Ask the room: who has used NumPy before? Who has used Excel? Both groups are fine: an array is a
# spreadsheet without the formatting. Keep this lesson brisk for the NumPy people; the shape
# debugging part is what everybody needs later.

# %% tags=["parameters"]
quick = False  # papermill: -p quick True makes CI fast

# %%
import matplotlib.pyplot as plt
import numpy as np

rng = np.random.default_rng(0)  # seed every generator: same numbers on every laptop
n_trials = 200 if quick else 5_000  # guesses in the "training by guessing" demo

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Your data is a table of numbers
#
# `bike_rentals.csv` holds 90 days at one bike-share station. Open it in a text editor first:
# a header line, then one row per day.

# %%
with open("bike_rentals.csv") as f:
    for _ in range(3):
        print(f.readline().rstrip())

# %% slideshow={"slide_type": "fragment"}
data = np.loadtxt("bike_rentals.csv", delimiter=",", skiprows=1)
columns = ["day", "temperature_c", "humidity_pct", "weekend", "rentals"]
print("shape:", data.shape, " dtype:", data.dtype)

# %% [markdown] slideshow={"slide_type": "notes"}
# `shape` is the first thing to print for any new data set: (rows, columns). If it says (91, 5) you
# forgot to skip the header; if it says (90,) the delimiter is wrong. Everything became float64,
# even the 0/1 weekend flag: NumPy arrays hold one type.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Features `X` and target `y`
#
# By convention `X` is a 2-D array, one row per example and one column per feature, and `y` is
# the 1-D array we want to predict.

# %%
X = data[:, 1:4]  # every row; columns 1, 2 and 3
y = data[:, 4]  # every row; the last column
feature_names = columns[1:4]
print("X:", X.shape, " y:", y.shape)
print("first day:", X[0], "->", y[0], "rentals")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Summaries along an axis
#
# `axis=0` collapses the rows: one number per column.

# %%
for name, mean, std in zip(feature_names, X.mean(axis=0), X.std(axis=0)):
    print(f"{name:>14s}: mean {mean:6.1f}   std {std:5.1f}")
print(f"{'rentals':>14s}: mean {y.mean():6.1f}   std {y.std():5.1f}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Boolean masks: ask the data a question
#
# Are warm days busier? A comparison gives an array of `True`/`False` that selects rows.

# %%
warm = X[:, 0] > 15
print(f"{warm.sum()} warm days: {y[warm].mean():.0f} rentals on average")
print(f"{(~warm).sum()} cool days: {y[~warm].mean():.0f} rentals on average")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## A model is a matrix product
#
# A linear model guesses `rentals ≈ w₁·temperature + w₂·humidity + w₃·weekend + b`.
# For all 90 days at once that is `X @ w + b`: shapes `(90, 3) @ (3,) → (90,)`.

# %%
w = np.array([10.0, -1.0, 30.0])  # a hand-made guess, one weight per feature
b = 60.0
prediction = X @ w + b
print("prediction:", prediction.shape, " first three:", prediction[:3].round(0))
print("mean squared error:", round(float(np.mean((prediction - y) ** 2)), 1))

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The error you will see most often
#
# Forget one weight and the shapes no longer line up. Read the message: it tells you which
# dimension disagrees.

# %% tags=["raises-exception"]
w_short = np.array([10.0, -1.0])  # only two weights for three features
X @ w_short

# %% [markdown] slideshow={"slide_type": "notes"}
# Point at "size 2 is different from 3": the 2 is w's length, the 3 is X's columns. The fix is
# always to print both shapes. This is the single most common bug in the rest of the evening.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Learning = searching for good weights
#
# Try thousands of random weight vectors at once. Broadcasting does the bookkeeping:
# `(90, 3) @ (3, n) → (90, n)`, then subtract `y[:, None]` of shape `(90, 1)`.

# %%
W = rng.normal(loc=[10, -1, 30], scale=[5, 2, 20], size=(n_trials, 3))
errors = np.mean((X @ W.T + b - y[:, None]) ** 2, axis=0)  # one error per guess
best = W[np.argmin(errors)]
best_prediction = X @ best + b
print(f"tried {n_trials} guesses; best error {errors.min():.1f}")
for name, weight in zip(feature_names, best):
    print(f"  w[{name}] = {weight:6.2f}")

# %% [markdown] slideshow={"slide_type": "notes"}
# Guessing works for three weights and fails for three million: that is why the later lessons use
# gradients. Keep the idea "training = finding weights that make the error small".

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Look before you model

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3))
ax1.scatter(X[:, 0], y, c=X[:, 2], cmap="coolwarm", s=18)
ax1.set(xlabel="temperature (°C)", ylabel="rentals", title="red = weekend")
ax2.hist(y - best_prediction, bins=15, color="grey")
ax2.set(xlabel="actual - predicted rentals", ylabel="days", title="best guess: errors")
fig.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "notes"}
# A feature against the target, and a histogram of the errors: most "does this data make sense?"
# questions end here. Warmer days are busier, weekends (red) sit above the cloud, and the errors
# are centred on zero with a couple of outliers worth a look.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercise 1: standardise the features
#
# Many models train better when every feature has mean 0 and standard deviation 1.
# Write `standardise(X)` with one line of broadcasting.

# %% tags=["exercise"]
def standardise(X):
    """X with every column shifted to mean 0 and scaled to standard deviation 1."""
    # BEGIN SOLUTION
    return (X - X.mean(axis=0)) / X.std(axis=0)
    # END SOLUTION


# %%
Z = standardise(X)
print("shape:", Z.shape)
print("means:", np.abs(Z.mean(axis=0)).round(3), " stds:", Z.std(axis=0).round(3))

# %% [markdown] slideshow={"slide_type": "subslide"}
# ## Exercise 2: weekends
#
# How many rentals does an average weekend day get, compared with a weekday?
# Use a boolean mask on the `weekend` column.

# %% tags=["exercise"]
# weekend = ...
# print(...)

# %% tags=["solution"]
weekend = X[:, 2] == 1
print(f"weekend: {y[weekend].mean():.0f} rentals, weekday: {y[~weekend].mean():.0f}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Recap
#
# - `np.loadtxt(..., delimiter=",", skiprows=1)` then **print the shape**
# - `X` is `(examples, features)`, `y` is `(examples,)`
# - `axis=0` summarises columns; masks select rows
# - a linear model is `X @ w + b`; shape errors name the dimensions that disagree
# - plot the target against a feature, and plot your errors
