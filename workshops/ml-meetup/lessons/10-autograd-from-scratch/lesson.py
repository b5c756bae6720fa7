# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: autograd-from-scratch
#     title: "Autograd from scratch: what loss.backward() really does"
#     level: advanced
#     minutes: 40
#     tags: [numpy, autograd, backpropagation, deep-learning]
#     requires: [neural-net-numpy]
#     objectives:
#       - Record a computation graph while computing forward
#       - Run reverse-mode differentiation with a topological sort
#       - Handle broadcasting in the backward pass
#       - Train a small network with gradients nobody derived by hand
#     kind: lesson
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # Autograd from scratch
#
# In the neural-network lesson we derived `backward()` by hand: fine for two layers, hopeless
# for a transformer. PyTorch, JAX and TensorFlow instead **record** every operation during the
# forward pass, then replay the chain rule backwards automatically.
#
# We build that machine: a `Tensor` class of about 60 lines, on top of NumPy.

# %% [markdown] slideshow={"slide_type": "notes"}
# This is the "aha" lesson for people who use PyTorch daily without knowing what `.backward()`
# does. Keep the code on screen and trace one example by hand before running it.

# %% tags=["parameters"]
quick = False  # papermill: -p quick True makes CI fast

# %%
import matplotlib.pyplot as plt
import numpy as np

rng = np.random.default_rng(0)
n_steps = 60 if quick else 400  # full-batch training steps
learning_rate = 0.5

# %% [markdown] slideshow={"slide_type": "slide"}
# ## A tensor that remembers where it came from
#
# Each result keeps its **parents** and a small function that pushes its gradient back to them.

# %%
class Tensor:
    def __init__(self, data, parents=(), op="leaf"):
        self.data = np.asarray(data, dtype=float)
        self.grad = np.zeros_like(self.data)
        self.parents = parents
        self.op = op
        self.push_grad = lambda: None  # set by the operation that created this tensor

    @property
    def shape(self):
        return self.data.shape

    def __repr__(self):
        return f"Tensor(shape={self.shape}, op={self.op!r})"


# %% [markdown] slideshow={"slide_type": "subslide"}
# ### `backward()`: the chain rule, in reverse order
#
# Sort the graph so each node comes after its parents, then walk it backwards.

# %%
def backward(self):
    if self.data.size != 1:
        raise ValueError(f"backward() needs a scalar loss, got shape {self.shape}")
    order, seen = [], set()

    def visit(node):  # depth-first: parents before children
        if id(node) not in seen:
            seen.add(id(node))
            for parent in node.parents:
                visit(parent)
            order.append(node)

    visit(self)
    self.grad = np.ones_like(self.data)  # d loss / d loss = 1
    for node in reversed(order):
        node.push_grad()


Tensor.backward = backward

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Operations: a value forward, a rule backward
#
# Addition passes the gradient through unchanged to both inputs.

# %%
def as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def add(a, b):
    a, b = as_tensor(a), as_tensor(b)
    out = Tensor(a.data + b.data, (a, b), "+")

    def push_grad():
        a.grad += unbroadcast(out.grad, a.shape)
        b.grad += unbroadcast(out.grad, b.shape)

    out.push_grad = push_grad
    return out


# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Broadcasting, undone
#
# If `b` of shape `(3,)` was added to every row of a `(5, 3)` array, its gradient is the
# **sum** over those rows.

# %%
def unbroadcast(grad, shape):
    """Sum grad down to `shape`, undoing NumPy broadcasting."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Multiply

# %%
def mul(a, b):
    a, b = as_tensor(a), as_tensor(b)
    out = Tensor(a.data * b.data, (a, b), "*")

    def push_grad():
        a.grad += unbroadcast(out.grad * b.data, a.shape)
        b.grad += unbroadcast(out.grad * a.data, b.shape)

    out.push_grad = push_grad
    return out


# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Matrix product and ReLU

# %%
def matmul(a, b):
    out = Tensor(a.data @ b.data, (a, b), "@")

    def push_grad():
        a.grad += out.grad @ b.data.T  # same shapes as the hand-written backprop
        b.grad += a.data.T @ out.grad

    out.push_grad = push_grad
    return out


def relu(a):
    out = Tensor(np.maximum(a.data, 0), (a,), "relu")

    def push_grad():
        a.grad += out.grad * (a.data > 0)

    out.push_grad = push_grad
    return out


# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Sum, and the operators `+ * @`

# %%
def total(a):
    out = Tensor(a.data.sum(), (a,), "sum")

    def push_grad():
        a.grad += out.grad * np.ones_like(a.data)

    out.push_grad = push_grad
    return out


Tensor.__add__, Tensor.__radd__ = add, lambda a, b: add(b, a)
Tensor.__mul__, Tensor.__rmul__ = mul, lambda a, b: mul(b, a)
Tensor.__matmul__ = matmul

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Does it work?
#
# `f = a·b + a`, so by hand `∂f/∂a = b + 1` and `∂f/∂b = a`.

# %%
a, b = Tensor(2.0), Tensor(-3.0)
f = a * b + a
f.backward()
print(f"f = {f.data}")
print(f"df/da = {a.grad} (expect {b.data + 1}), df/db = {b.grad} (expect {a.data})")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Broadcasting: a bias added to every row

# %%
x = Tensor(rng.normal(size=(5, 3)))
bias = Tensor(np.zeros(3))
total(relu(x + bias)).backward()
print("bias.grad:", bias.grad)
print("positives per column:", (x.data > 0).sum(axis=0))

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Gradients need a scalar
#
# "Which direction is downhill?" only makes sense for one number. PyTorch raises the same
# complaint ("grad can be implicitly created only for scalar outputs").

# %% tags=["raises-exception"]
(x + bias).backward()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The last piece: softmax cross-entropy
#
# Fused into one operation, like `torch.nn.functional.cross_entropy`: the combined gradient is
# simple (`probs - one_hot`) and numerically safe.

# %%
def cross_entropy(logits, y):
    z = logits.data - logits.data.max(axis=1, keepdims=True)
    probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    n = len(y)
    out = Tensor(-np.mean(np.log(probs[np.arange(n), y])), (logits,), "cross_entropy")

    def push_grad():
        g = probs.copy()
        g[np.arange(n), y] -= 1
        logits.grad += out.grad * g / n

    out.push_grad = push_grad
    return out


# %% [markdown] slideshow={"slide_type": "slide"}
# ## Data: two interlocking moons
#
# Not separable by a straight line, so logistic regression fails and a hidden layer is needed.

# %%
n_points = 200
angle = rng.uniform(0, np.pi, n_points)
label = rng.integers(0, 2, n_points)
X = np.column_stack([np.cos(angle) + label,
                     np.sin(angle) * (1 - 2 * label) + 0.5 * label])
X += rng.normal(0, 0.12, X.shape)
X = (X - X.mean(axis=0)) / X.std(axis=0)
print("X:", X.shape, " points per class:", np.bincount(label))

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### A network, with no backward pass written

# %%
def init(hidden=16, seed=0):
    r = np.random.default_rng(seed)
    return [Tensor(r.normal(0, 1.0, (2, hidden))), Tensor(np.zeros(hidden)),
            Tensor(r.normal(0, 1 / np.sqrt(hidden), (hidden, 2))), Tensor(np.zeros(2))]


def model(params, X, activation=relu):
    W1, b1, W2, b2 = params
    return activation(Tensor(X) @ W1 + b1) @ W2 + b2


params = init()
loss = cross_entropy(model(params, X), label)
loss.backward()
print(f"loss {loss.data:.3f}; gradient shapes:", [p.grad.shape for p in params])

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Trust, but verify

# %%
def loss_value(params):
    return cross_entropy(model(params, X), label).data


W1 = params[0]
h = 1e-6
for idx in [(0, 0), (1, 5), (0, 11)]:
    old = W1.data[idx]
    W1.data[idx] = old + h
    up = loss_value(params)
    W1.data[idx] = old - h
    down = loss_value(params)
    W1.data[idx] = old
    numeric = (up - down) / (2 * h)
    print(f"W1{idx}: autograd {W1.grad[idx]:+.6f}, finite difference {numeric:+.6f}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Training: zero, forward, backward, step

# %%
def train(activation=relu, steps=n_steps, seed=0):
    params = init(seed=seed)
    losses = []
    for _ in range(steps):
        for p in params:
            p.grad = np.zeros_like(p.data)  # gradients accumulate (as in PyTorch)
        loss = cross_entropy(model(params, X, activation), label)
        loss.backward()
        for p in params:
            p.data -= learning_rate * p.grad
        losses.append(float(loss.data))
    return params, losses


params, losses = train()
accuracy = np.mean(model(params, X).data.argmax(axis=1) == label)
print(f"after {n_steps} steps: loss {losses[-1]:.3f}, training accuracy {accuracy:.1%}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### What it learned

# %%
gx, gy = np.meshgrid(np.linspace(-2.2, 2.2, 120), np.linspace(-2.2, 2.2, 120))
grid = np.column_stack([gx.ravel(), gy.ravel()])
region = model(params, grid).data.argmax(axis=1).reshape(gx.shape)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 2.7))
ax1.plot(losses)
ax1.set(xlabel="step", ylabel="cross-entropy", yscale="log")
ax2.contourf(gx, gy, region, alpha=0.25, cmap="coolwarm")
ax2.scatter(X[:, 0], X[:, 1], c=label, cmap="coolwarm", s=10)
ax2.set(title="decision regions", xticks=[], yticks=[])
fig.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "notes"}
# Point out that we never wrote a backward pass for this network: `model` is ordinary forward
# code. Ask what happens if you remove the `p.grad = zeros` line (gradients pile up across steps
# and training goes haywire), a real PyTorch bug (`optimizer.zero_grad()`).

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercise 1: teach it `tanh`
#
# Forward: `np.tanh`. Backward: `d tanh(x)/dx = 1 - tanh(x)²`. Fill in `push_grad`.

# %% tags=["exercise"]
def tanh(a):
    out = Tensor(np.tanh(a.data), (a,), "tanh")

    def push_grad():
        # BEGIN SOLUTION
        a.grad += out.grad * (1 - out.data**2)
        # END SOLUTION

    out.push_grad = push_grad
    return out


# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Check `tanh` against finite differences

# %%
x = Tensor(np.array([-2.0, -0.5, 0.0, 0.7, 3.0]))
total(tanh(x)).backward()
numeric = (np.tanh(x.data + 1e-6) - np.tanh(x.data - 1e-6)) / 2e-6
print("autograd:", x.grad.round(5))
print("numeric: ", numeric.round(5))
ok = np.allclose(x.grad, numeric, atol=1e-6)
print("match!" if ok else "not yet: check push_grad")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ## Exercise 2: swap the activation
#
# Train the same network with `tanh` instead of `relu`. Compare the final loss.

# %% tags=["exercise"]
# params_tanh, losses_tanh = train(...)

# %% tags=["solution"]
params_tanh, losses_tanh = train(activation=tanh)
print(f"relu: final loss {losses[-1]:.3f} | tanh: final loss {losses_tanh[-1]:.3f}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Recap
#
# - forward: every operation stores its inputs and a rule to push gradients back
# - backward: topological order, start from `grad = 1`, apply each rule once
# - broadcasting in forward means summing in backward
# - PyTorch is this idea plus hundreds of operations, GPU kernels and memory tricks
