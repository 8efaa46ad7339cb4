// The "Imprimer" button of the ride confirmation (shown only when JavaScript runs).
document.querySelectorAll(".lot-print-button").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
});
