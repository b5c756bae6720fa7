# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: one-plot-explains-your-model
#     title: "Lightning: one plot that explains your model"
#     level: beginner
#     minutes: 5
#     tags: [scikit-learn, explainability, visualisation]
#     requires: [first-model]
#     objectives:
#       - Explain permutation importance in one sentence
#       - Produce a permutation-importance plot for any fitted scikit-learn model
#     kind: lightning
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # One plot that explains your model
#
# *"Which inputs does it actually use?"* is the first question your manager asks.
#
# **Permutation importance:** shuffle one column of the test set and see how much the score
# drops. Big drop = the model relies on that column. Works for **any** model.

# %% [markdown] slideshow={"slide_type": "notes"}
# Five minutes, six slides. Spend one minute here, two on the plot, one on the caveat, one on the
# exercise. Do not explain random forests: the point is that the method does not care.

# %% tags=["parameters"] slideshow={"slide_type": "skip"}
quick = False  # papermill: -p quick True makes CI fast

# %% slideshow={"slide_type": "skip"}
import matplotlib.pyplot as plt
from sklearn.datasets import load_wine
from sklearn.ensemble import RandomForestClassifier
from sklearn.inspection import permutation_importance
from sklearn.model_selection import train_test_split

n_trees = 30 if quick else 100
n_repeats = 5 if quick else 10  # shuffles per column

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Any model, any data: here a forest on 13 wine measurements

# %%
X, y = load_wine(return_X_y=True, as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, random_state=0, stratify=y
)
forest = RandomForestClassifier(n_trees, random_state=0).fit(X_train, y_train)
print(f"test accuracy: {forest.score(X_test, y_test):.1%}")
result = permutation_importance(forest, X_test, y_test, n_repeats=n_repeats,
                                random_state=0)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The plot

# %%
order = result.importances_mean.argsort()
fig, ax = plt.subplots(figsize=(6, 3.6))
mean, std = result.importances_mean[order], result.importances_std[order]
ax.barh(X.columns[order], mean, xerr=std)
ax.set(xlabel="drop in test accuracy when shuffled")
fig.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## How to read it, and one trap
#
# - measured on **test** data: what the model uses to generalise, not what it memorised
# - the error bars come from repeated shuffles; bars within them are "about zero"
# - **trap:** two correlated columns share the credit, so each can look unimportant alone

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Try it: drop the top column
#
# Retrain without the most important column. How much accuracy is really lost?

# %% tags=["exercise"]
# BEGIN SOLUTION
top = X.columns[order[-1]]
smaller = RandomForestClassifier(n_estimators=n_trees, random_state=0)
smaller.fit(X_train.drop(columns=top), y_train)
score_without = smaller.score(X_test.drop(columns=top), y_test)
# END SOLUTION
print(f"without {top!r}: {score_without:.1%}")
print(f"with it: {forest.score(X_test, y_test):.1%}")

# %% [markdown] slideshow={"slide_type": "notes"}
# Usually very little: correlated columns step in. That is the trap from the previous slide, seen
# live. Importance is about *this* model, not about the world.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Take home
#
# `sklearn.inspection.permutation_importance(model, X_test, y_test)` plus one bar chart.
# Put it in every model review.
