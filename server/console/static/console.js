// The key-created page's Copy button: copies the secret, and says so. The
// selection is copied at once; the asynchronous clipboard API, where there
// is one, copies it too, but is not waited for: a browser may hold its
// promise for a permission it never asks.
document.querySelectorAll("[data-copy]").forEach(function (button) {
  button.addEventListener("click", function () {
    var field = document.getElementById(button.dataset.copy);
    field.select();
    try { document.execCommand("copy"); } catch (e) { /* the clipboard API below */ }
    if (navigator.clipboard) {
      navigator.clipboard.writeText(field.value).catch(function () {});
    }
    button.textContent = "Copied";
  });
});
