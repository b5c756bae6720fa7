# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: learning-rate-in-five-minutes
#     title: "Lightning: the learning rate in five minutes"
#     level: intermediate
#     minutes: 5
#     tags: [optimisation, deep-learning, numpy]
#     requires: [gradient-descent]
#     objectives:
#       - Recognise a too-small, a good and a too-large learning rate from the loss curve
#       - Search learning rates on a log scale
#     kind: lightning
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # The learning rate in five minutes
#
# The single most important setting when training anything by gradient descent, from a linear
# model to an LLM. Same model, same data, four learning rates, **one plot**.

# %% [markdown] slideshow={"slide_type": "notes"}
# Six slides. The plot is the talk: spend two of the five minutes on it. The audience has seen a
# gradient-descent loop before, so do not re-derive the gradient.

# %% tags=["parameters"] slideshow={"slide_type": "skip"}
quick = False  # papermill: -p quick True makes CI fast

# %% slideshow={"slide_type": "skip"}
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes

n_steps = 60 if quick else 300

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The setup: linear regression on 442 diabetes patients

# %%
X, y = load_diabetes(return_X_y=True)
X = (X - X.mean(axis=0)) / X.std(axis=0)
y = (y - y.mean()) / y.std()


def train(lr, steps=n_steps):
    w, losses = np.zeros(X.shape[1]), []
    for _ in range(steps):
        residual = X @ w - y
        losses.append(np.mean(residual**2))
        if losses[-1] > 100 * losses[0]:  # exploded: stop before it overflows
            break
        w -= lr * 2 * X.T @ residual / len(y)
    return losses


print("X:", X.shape, f"| loss before training: {train(0.0, steps=1)[0]:.2f}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The plot

# %%
fig, ax = plt.subplots(figsize=(6, 3.8))
for lr in (0.003, 0.03, 0.2, 0.3):
    ax.plot(train(lr), label=f"lr = {lr}")
ax.set(xlabel="step", ylabel="mean squared error", yscale="log", ylim=(0.4, 30))
ax.legend()
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Reading it
#
# - **flat, slowly sinking:** too small; you are paying for compute that does nothing
# - **fast drop, then flat:** about right
# - **going up, or NaN:** too large; steps overshoot the valley and climb the other side
# - search on a **log scale** (0.001, 0.003, 0.01, 0.03, ...); the best is often just below
#   the value that explodes

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Try it: find the edge
#
# What is the largest learning rate that does not explode here? Search between 0.2 and 0.3.

# %% tags=["exercise"]
# for lr in np.linspace(0.2, 0.3, 21):
#     ...

# %% tags=["solution"]
stable = [lr for lr in np.linspace(0.2, 0.3, 21) if train(lr)[-1] < train(lr)[0]]
hessian_top = np.linalg.eigvalsh(2 * X.T @ X / len(y)).max()
print(f"largest stable lr on the grid: {max(stable):.3f}")
print(f"theory for a quadratic loss, 2 / λ_max: {2 / hessian_top:.3f}")

# %% [markdown] slideshow={"slide_type": "notes"}
# For a quadratic loss the edge is exactly 2 divided by the largest curvature (Hessian eigenvalue).
# Neural networks are not quadratic, but they famously train right at this "edge of stability".

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Take home
#
# Before tuning anything else, plot the loss for 3-4 learning rates a factor of 3-10 apart.
# Keep the fastest one that does not blow up.
