# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: first-model
#     title: "Your first model: predicting flat prices with scikit-learn"
#     level: beginner
#     minutes: 30
#     tags: [scikit-learn, pandas, regression]
#     requires: [arrays-and-plots]
#     objectives:
#       - Load and inspect a CSV with pandas (shape, types, missing values)
#       - Handle missing values and a text column before fitting
#       - Use the fit / predict / score recipe of scikit-learn
#       - Judge a regression model with a plot of predicted against actual values
#     kind: lesson
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # Your first model
#
# **Question:** what is a flat worth, given its size, age and location?
#
# The recipe you will reuse for every scikit-learn model:
#
# 1. load and **look** at the data
# 2. clean it into `X` (numbers only, no gaps) and `y`
# 3. `model.fit(X, y)`, `model.predict(X_new)`, judge the errors

# %% [markdown] slideshow={"slide_type": "notes"}
# The data is synthetic but built like a real estate-agent export: one text column and a few
# missing values. Stress that steps 1 and 2 take most of the time in real projects.

# %% tags=["parameters"]
quick = False  # fast either way; kept so every lesson takes the same flag

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. Load and look

# %%
df = pd.read_csv("house_prices.csv")
print(df.shape)
df.head()

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Types and gaps
#
# Two checks before any model: is every column the type you expect, and what is missing?

# %%
summary = pd.DataFrame({"dtype": df.dtypes.astype(str), "missing": df.isna().sum()})
summary

# %% [markdown] slideshow={"slide_type": "notes"}
# `age_years` is float because a missing value (NaN) is a float in pandas. `neighbourhood` is text:
# models only take numbers, so it needs work too. Ask: what would you do with the 7 missing ages?

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2. Features and target

# %%
features = ["area_m2", "rooms", "age_years", "distance_km"]
X = df[features]
y = df["price_k_eur"]
print("X:", X.shape, " y:", y.shape)

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### What happens if we just fit?

# %% tags=["raises-exception"]
LinearRegression().fit(X, y)

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Fill the gaps
#
# Two common fixes: drop the rows, or fill each gap with the column's **median**.
# Dropping would lose 7 of 160 flats, so we fill.

# %%
X = X.fillna(X.median())
print("missing values left:", int(X.isna().sum().sum()))

# %% [markdown] slideshow={"slide_type": "notes"}
# The median is robust to a few very old buildings. Later (pipelines lesson) the same idea becomes
# `SimpleImputer`, which learns the median on training data only.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3. Fit, predict, score

# %%
model = LinearRegression()
model.fit(X, y)
for name, coef in zip(features, model.coef_):
    print(f"{name:>12s}: {coef:+7.2f} k€ per unit")
print(f"{'intercept':>12s}: {model.intercept_:+7.2f} k€")

# %% [markdown] slideshow={"slide_type": "fragment"}
# Each coefficient reads as "one more unit of this, everything else equal":
# one more m² adds about 3 k€, one more km from the centre takes about 4 k€ off.

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Predict a flat that is not in the data
#
# Pass a table with the **same columns**, in the same order.

# %%
new_flat = pd.DataFrame(
    [{"area_m2": 70, "rooms": 3, "age_years": 25, "distance_km": 4.0}]
)
print(f"predicted price: {model.predict(new_flat)[0]:.0f} k€")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### How wrong is it, on average?

# %%
predicted = model.predict(X)
print(f"R² score:            {model.score(X, y):.3f}  (1 perfect, 0 = guess the mean)")
print(f"mean absolute error: {mean_absolute_error(y, predicted):.1f} k€")

# %% [markdown] slideshow={"slide_type": "notes"}
# Both numbers are measured on the flats the model has already seen: too optimistic. That is the
# whole topic of the next lesson. The mean absolute error is in k€, which a client understands.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Text columns become 0/1 columns
#
# `neighbourhood` is a category. `pd.get_dummies` turns it into one 0/1 column per value
# ("one-hot encoding").

# %%
hoods = pd.get_dummies(df["neighbourhood"], prefix="in", dtype=int)
X_more = pd.concat([X, hoods], axis=1)
print(", ".join(X_more.columns))

model_more = LinearRegression().fit(X_more, y)
predicted_more = model_more.predict(X_more)
print(f"mean absolute error: {mean_absolute_error(y, predicted_more):.1f} k€ (was "
      f"{mean_absolute_error(y, predicted):.1f})")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The one plot for a regression model: predicted against actual

# %%
fig, ax = plt.subplots(figsize=(4.5, 3.1))
ax.scatter(y, predicted, s=14, alpha=0.6, label="numbers only")
ax.scatter(y, predicted_more, s=14, alpha=0.6, label="+ neighbourhood")
lims = [y.min(), y.max()]
ax.plot(lims, lims, "k--", lw=1)
ax.set(xlabel="actual price (k€)", ylabel="predicted price (k€)")
ax.legend()
plt.show()

# %% [markdown] slideshow={"slide_type": "notes"}
# A perfect model puts every flat on the dashed diagonal. Look for patterns in the misses: a bend
# or a fan shape means the model is missing something. Here the misses look like even noise on
# both sides, so a straight-line model is a fair start, and the neighbourhood tightens the cloud.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercise 1: your own flat
#
# Predict the price of a 95 m², 4-room, 10-year-old flat 1.5 km from the centre, in
# `riverside`, with `model_more`. Build the row with the columns of `X_more`.

# %% tags=["exercise"]
# BEGIN SOLUTION
my_flat = pd.DataFrame([{"area_m2": 95, "rooms": 4, "age_years": 10, "distance_km": 1.5,
                         "in_centre": 0, "in_riverside": 1, "in_suburb": 0}])
my_price = model_more.predict(my_flat[X_more.columns])[0]
# END SOLUTION
print(f"predicted price: {my_price:.0f} k€")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ## Exercise 2: the error by hand
#
# Compute the mean absolute error of `predicted_more` with NumPy only, and check it matches
# `mean_absolute_error`.

# %% tags=["exercise"]
# mae = ...

# %% tags=["solution"]
mae = np.mean(np.abs(y.to_numpy() - predicted_more))
print(f"by hand: {mae:.2f} k€")
print(f"scikit-learn: {mean_absolute_error(y, predicted_more):.2f} k€")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Recap
#
# - `df.shape`, `df.dtypes`, `df.isna().sum()`: always, before anything else
# - models want numbers and no gaps: fill (or drop) missing values, one-hot encode text
# - `fit`, `predict`, `score` work the same for every scikit-learn model
# - plot predicted against actual; report errors in the target's own unit
#
# **Next:** these scores were measured on data the model had seen. Are they honest?
