// The widget manager (ipywidgets 8) typesets widget labels with the MathJax 2
// call MathJax.Hub.Queue, which MathJax 3 no longer has. Map it to MathJax 3
// once MathJax has loaded, so rendering a widget raises no error.
(function () {
  function installHub() {
    var mathjax = window.MathJax;
    if (!mathjax || mathjax.Hub) {
      return;
    }
    mathjax.Hub = {
      Queue: function (job) {
        var element = Array.isArray(job) ? job[2] : undefined;
        if (element && typeof mathjax.typesetPromise === "function") {
          mathjax.typesetPromise([element]).catch(function () {});
        }
      },
    };
  }
  document.addEventListener("DOMContentLoaded", installHub);
})();
