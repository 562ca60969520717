// Outlay: small progressive enhancements. Every page works without this script.

// Confirm destructive buttons.
document.addEventListener('submit', (event) => {
  const button = event.submitter;
  const question = button && button.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

// Receipt upload: drag and drop onto the drop zone, with a preview of images and an icon for PDFs.
for (const zone of document.querySelectorAll('.dropzone')) {
  const input = zone.querySelector('input[type=file]');
  const preview = zone.closest('form').querySelector('.preview');
  const show = () => {
    preview.replaceChildren();
    const file = input.files && input.files[0];
    if (!file) return;
    if (file.type.startsWith('image/')) {
      const img = document.createElement('img');
      img.alt = 'Preview of ' + file.name;
      img.src = URL.createObjectURL(file);
      preview.append(img);
    } else {
      const icon = document.createElement('span');
      icon.className = 'pdf-icon';
      icon.textContent = 'PDF';
      preview.append(icon);
    }
    const name = document.createElement('p');
    name.textContent = file.name + ' (' + Math.ceil(file.size / 1024) + ' KB)';
    if (file.size > 10 * 1024 * 1024) name.textContent += ': too large, the limit is 10 MB';
    preview.append(name);
  };
  input.addEventListener('change', show);
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    if (e.dataTransfer.files.length) { input.files = e.dataTransfer.files; show(); }
  });
}

// "Select all" boxes: `data-select-all` names the checkboxes it ticks and unticks.
for (const all of document.querySelectorAll('input[data-select-all]')) {
  const boxes = () => all.form.querySelectorAll(`input[type=checkbox][name="${all.dataset.selectAll}"]:not(:disabled)`);
  all.addEventListener('change', () => { for (const b of boxes()) b.checked = all.checked; });
}
