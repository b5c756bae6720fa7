# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: neural-net-numpy
#     title: "A neural network from scratch in NumPy"
#     level: intermediate
#     minutes: 45
#     tags: [numpy, neural-networks, deep-learning, backpropagation]
#     requires: [gradient-descent, first-classifier]
#     objectives:
#       - Write the forward pass of a two-layer network with ReLU and softmax
#       - Derive backpropagation layer by layer and verify it with a gradient check
#       - Train with mini-batch gradient descent and read the loss curves
#       - Relate each piece to what PyTorch or Keras does for you
#     kind: lesson
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # A neural network from scratch
#
# Logistic regression: one weighted sum, one squash. A neural network stacks them:
#
# `pixels (64) → weighted sums (32) → ReLU → weighted sums (10) → softmax → probabilities`
#
# We write all of it, forward and backward, in about 40 lines of NumPy, and train it on the
# handwritten digits from the first-classifier lesson.

# %% [markdown] slideshow={"slide_type": "notes"}
# Nothing here is a simplification: this is a real multi-layer perceptron. Frameworks add
# automatic gradients (see the autograd lesson), GPUs and convenience, not new ideas.

# %% tags=["parameters"]
quick = False  # papermill: -p quick True makes CI fast

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

n_epochs = 8 if quick else 60  # passes over the training data
hidden = 32  # units in the hidden layer
batch_size = 32
learning_rate = 0.1

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Data: same split as before

# %%
digits = load_digits()
X_train, X_test, y_train, y_test = train_test_split(
    digits.data / 16.0, digits.target,
    test_size=0.25, random_state=0, stratify=digits.target,
)
print("X_train:", X_train.shape, " y_train:", y_train.shape)
print("classes:", np.unique(y_train))

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The weights
#
# Two layers, each a weight matrix and a bias vector, starting small and random.

# %%
def init_params(n_in, n_hidden, n_out, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.normal(0, np.sqrt(2 / n_in), size=(n_in, n_hidden)),
        "b1": np.zeros(n_hidden),
        "W2": rng.normal(0, np.sqrt(1 / n_hidden), size=(n_hidden, n_out)),
        "b2": np.zeros(n_out),
    }


params = init_params(64, hidden, 10)
print("shapes:", {name: value.shape for name, value in params.items()})
print("parameters in total:", sum(value.size for value in params.values()))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Forward pass

# %%
def softmax(z):
    z = z - z.max(axis=1, keepdims=True)  # same result, but exp() cannot overflow
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def forward(params, X):
    z1 = X @ params["W1"] + params["b1"]  # (n, hidden)
    a1 = np.maximum(z1, 0)  # ReLU: keep positives, zero the rest
    z2 = a1 @ params["W2"] + params["b2"]  # (n, 10)
    return softmax(z2), (X, z1, a1)  # probabilities, plus what backward() needs


# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Loss of an untrained network

# %%
def cross_entropy(probs, y):
    return -np.mean(np.log(probs[np.arange(len(y)), y] + 1e-12))


probs, _ = forward(params, X_train[:5])
print("probabilities:", probs.shape, " rows sum to", probs.sum(axis=1).round(6))
print(f"untrained loss: {cross_entropy(probs, y_train[:5]):.3f}")
print(f"random guessing: log 10 = {np.log(10):.3f}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Backward pass: the chain rule, one layer at a time
#
# Every line mirrors a line of `forward`, walked in reverse:
#
# - softmax + cross-entropy: `dz2 = probs - one_hot(y)` (the `p - y` of logistic regression)
# - second layer: `dW2 = a1ᵀ dz2`, and the signal passed back is `da1 = dz2 W2ᵀ`
# - ReLU lets the signal through only where `z1 > 0`
# - first layer: `dW1 = Xᵀ dz1`

# %%
def backward(params, probs, cache, y):
    X, z1, a1 = cache
    n = len(y)
    dz2 = probs.copy()
    dz2[np.arange(n), y] -= 1  # probs - one_hot(y)
    dz2 /= n  # the loss is a mean over the batch
    grads = {"W2": a1.T @ dz2, "b2": dz2.sum(axis=0)}
    dz1 = (dz2 @ params["W2"].T) * (z1 > 0)
    grads["W1"] = X.T @ dz1
    grads["b1"] = dz1.sum(axis=0)
    return grads


# %% [markdown] slideshow={"slide_type": "notes"}
# Check the shapes out loud: dW2 must have the shape of W2, (32, 10) = (32, n) @ (n, 10). When a
# shape does not line up in backprop, you transposed the wrong thing. That rule finds most bugs.

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Gradient check
#
# Nudge one weight up and down by `h` and measure the loss: that slope must match backprop.

# %%
def loss_at(params, X, y):
    return cross_entropy(forward(params, X)[0], y)


def numeric_grad(params, name, idx, X, y, h=1e-5):
    old = params[name][idx]
    params[name][idx] = old + h
    up = loss_at(params, X, y)
    params[name][idx] = old - h
    down = loss_at(params, X, y)
    params[name][idx] = old  # put it back
    return (up - down) / (2 * h)


# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Backprop against finite differences

# %%
Xb, yb = X_train[:20], y_train[:20]
probs, cache = forward(params, Xb)
grads = backward(params, probs, cache, yb)
check_rng = np.random.default_rng(3)
for name in params:
    idx = tuple(int(check_rng.integers(s)) for s in params[name].shape)
    numeric = numeric_grad(params, name, idx, Xb, yb)
    backprop = grads[name][idx]
    print(f"{name}{str(idx):>8s}: backprop {backprop:+.8f}   numeric {numeric:+.8f}")

# %% [markdown] slideshow={"slide_type": "notes"}
# Agreement to 6-8 digits means backprop is right. Beware a gradient of exactly zero on both
# sides: it usually means a ReLU unit that is off for every image in the batch, and then the check
# proves nothing. Check a few random entries, not one.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The training loop

# %%
def train(hidden=hidden, epochs=n_epochs, lr=learning_rate, seed=0):
    params = init_params(64, hidden, 10, seed=seed)
    shuffle_rng = np.random.default_rng(seed)
    history = {"train loss": [], "test loss": [], "test accuracy": []}
    for _ in range(epochs):
        order = shuffle_rng.permutation(len(y_train))
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            probs, cache = forward(params, X_train[batch])
            grads = backward(params, probs, cache, y_train[batch])
            for name in params:
                params[name] -= lr * grads[name]
        test_probs = forward(params, X_test)[0]
        history["train loss"].append(loss_at(params, X_train, y_train))
        history["test loss"].append(cross_entropy(test_probs, y_test))
        history["test accuracy"].append(np.mean(test_probs.argmax(axis=1) == y_test))
    return params, history


# %% [markdown] slideshow={"slide_type": "notes"}
# Mini-batches: shuffle, then update after every 32 images instead of after the whole set. More
# updates per pass over the data, and a little noise that helps.

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Train it

# %%
params, history = train()
print(f"{n_epochs} epochs: test accuracy {history['test accuracy'][-1]:.1%}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Loss curves

# %%
epochs = np.arange(1, n_epochs + 1)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 2.9))
ax1.plot(epochs, history["train loss"], label="train")
ax1.plot(epochs, history["test loss"], label="test")
ax1.set(xlabel="epoch", ylabel="cross-entropy")
ax1.legend()
ax2.plot(epochs, history["test accuracy"], color="green")
ax2.set(xlabel="epoch", ylabel="test accuracy", ylim=(0.8, 1.0))
fig.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "notes"}
# The spikes are single unlucky mini-batches pushing the weights too far; a smaller learning rate
# (try 0.03) smooths them at the price of slower progress: see the learning-rate lightning talk.
# Ask: where would you stop training? The test loss flattens while the train loss keeps falling:
# the gap is the start of overfitting. Early stopping means keeping the weights from the epoch
# with the best validation loss. The logistic regression in the first-classifier lesson scored
# about 97% on this split: on tiny 8×8 images a hidden layer buys little. On real photos it is
# the whole game.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercise 1: predict
#
# Write `predict(params, X)`, returning one digit per row: the class with the highest
# probability.

# %% tags=["exercise"]
def predict(params, X):
    # BEGIN SOLUTION
    return forward(params, X)[0].argmax(axis=1)
    # END SOLUTION


# %%
y_pred = predict(params, X_test)
print("first ten predictions:", y_pred[:10], " truth:", y_test[:10])
print(f"test accuracy: {np.mean(y_pred == y_test):.1%}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ## Exercise 2: how wide?
#
# Train with 8, 32 and 128 hidden units (same epochs). What happens to the test accuracy,
# and to the gap between train and test loss?

# %% tags=["exercise"]
# for width in [8, 32, 128]:
#     ...

# %% tags=["solution"]
for width in [8, 32, 128]:
    _, h = train(hidden=width)
    print(f"{width:4d} units: test accuracy {h['test accuracy'][-1]:.1%}, "
          f"train loss {h['train loss'][-1]:.3f}, test loss {h['test loss'][-1]:.3f}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Recap: what a framework does for you
#
# | we wrote | PyTorch |
# |---|---|
# | `init_params` | `nn.Linear` |
# | `forward` | `model(x)` |
# | `backward` + gradient check | `loss.backward()` (autograd) |
# | `params[name] -= lr * grads[name]` | `optimizer.step()` |
# | shuffle + slices | `DataLoader` |
#
# **Next (advanced):** write `loss.backward()` yourself, or build attention from scratch.
