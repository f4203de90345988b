// The key-created page's Copy button: copies the secret, and says so.
document.querySelectorAll("[data-copy]").forEach(function (button) {
  button.addEventListener("click", function () {
    var field = document.getElementById(button.dataset.copy);
    field.select();
    var said = function () { button.textContent = "Copied"; };
    if (navigator.clipboard) {
      navigator.clipboard.writeText(field.value).then(said, function () { document.execCommand("copy"); said(); });
    } else {
      document.execCommand("copy");
      said();
    }
  });
});
