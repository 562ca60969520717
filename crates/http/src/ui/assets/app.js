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
    for (const file of input.files || []) {
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
    }
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

// The sum of a selection: `data-sum-of` names the checkboxes, each with its amount in minor
// units (`data-minor`) and currency; the total is shown in the currency's own decimals.
for (const out of document.querySelectorAll('[data-sum-of]')) {
  const boxes = () => [...out.closest('form').querySelectorAll(`input[type=checkbox][name="${out.dataset.sumOf}"]`)];
  const show = () => {
    const chosen = boxes().filter((b) => b.checked);
    if (!chosen.length) { out.textContent = 'Nothing selected.'; return; }
    const sums = new Map();
    for (const b of chosen) sums.set(b.dataset.currency, (sums.get(b.dataset.currency) || 0n) + BigInt(b.dataset.minor || '0'));
    const parts = [...sums].map(([currency, minor]) => {
      const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
      const unit = 10n ** BigInt(digits);
      const whole = minor / unit;
      const frac = digits ? '.' + (minor % unit).toString().padStart(digits, '0') : '';
      return `${whole}${frac} ${currency}`;
    });
    out.textContent = `${chosen.length} selected, totalling ${parts.join(' + ')}.`;
  };
  out.closest('form').addEventListener('change', show);
  show();
}

// Before saving: does the chosen currency have an exchange rate for the expense's date? The
// server lists each currency's rate days and how old a rate may be (`data-rate-window`).
for (const select of document.querySelectorAll('select[data-rate-window]')) {
  const form = select.form;
  const date = form.querySelector('input[name=date]');
  const note = form.querySelector('.rate-note');
  const windowDays = Number(select.dataset.rateWindow);
  const check = () => {
    const option = select.selectedOptions[0];
    const days = option && option.dataset.rateDays;
    if (days === undefined || !date.value) { note.textContent = ''; return; }
    const day = Date.parse(date.value);
    const covered = days.split(',').filter(Boolean).some((d) => {
      const age = (day - Date.parse(d)) / 86400000;
      return age >= 0 && age <= windowDays;
    });
    note.textContent = covered ? '' : `There is no ${option.value} exchange rate for ${date.value} yet: the expense will have no amount in the base currency until finance adds one.`;
  };
  select.addEventListener('change', check);
  date.addEventListener('change', check);
  check();
}

// Mileage and per diem: the amount as the fields change, from the server's own pricing
// (`data-quote`), and one row of meal boxes per day of a stay.
for (const form of document.querySelectorAll('form[data-quote]')) {
  const out = form.querySelector('.quote');
  const days = form.querySelector('.meal-days');
  const from = form.querySelector('input[name=from][type=datetime-local]');
  const until = form.querySelector('input[name=until]');
  const mealRows = () => {
    if (!days || !from.value || !until.value) return;
    const kept = new Set([...days.querySelectorAll('input:checked')].map((b) => `${b.name}|${b.value}`));
    days.replaceChildren();
    const day = new Date(from.value.slice(0, 10) + 'T00:00:00Z');
    const last = new Date(until.value.slice(0, 10) + 'T00:00:00Z');
    for (let n = 0; day <= last && n < 92; n += 1, day.setUTCDate(day.getUTCDate() + 1)) {
      const date = day.toISOString().slice(0, 10);
      const row = document.createElement('div');
      row.className = 'meal-day';
      row.append(date);
      for (const meal of ['breakfast', 'lunch', 'dinner']) {
        const label = document.createElement('label');
        const box = document.createElement('input');
        box.type = 'checkbox';
        box.name = meal;
        box.value = date;
        box.checked = kept.has(`${meal}|${date}`);
        label.append(box, ' ' + meal);
        row.append(label);
      }
      days.append(row);
    }
  };
  let asked = 0;
  const ask = async () => {
    const mine = ++asked;
    const response = await fetch(form.dataset.quote, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(new FormData(form)),
      credentials: 'same-origin',
    });
    const answer = await response.json().catch(() => ({ error: 'The amount could not be worked out.' }));
    if (mine !== asked) return;
    out.classList.toggle('error', !response.ok);
    out.textContent = response.ok ? `${answer.amount} ${answer.currency}: ${answer.text}` : answer.error;
  };
  let timer;
  form.addEventListener('input', (e) => {
    if (e.target === from || e.target === until) mealRows();
    clearTimeout(timer);
    timer = setTimeout(ask, 250);
  });
  form.addEventListener('change', () => { clearTimeout(timer); timer = setTimeout(ask, 250); });
}

// Receipts to expenses: each file dropped, chosen or photographed is sent on its own, with a
// progress bar over all of them; one receipt goes on to its new expense, several to the list.
for (const form of document.querySelectorAll('form.receipts-in')) {
  const bar = form.querySelector('.progress progress');
  const text = form.querySelector('.progress-text');
  form.addEventListener('submit', (event) => {
    const files = [...form.querySelectorAll('input[type=file]')].flatMap((i) => [...(i.files || [])]);
    if (!files.length) return; // the server says what is missing
    event.preventDefault();
    const csrf = form.querySelector('input[name=csrf]').value;
    const total = files.reduce((sum, f) => sum + f.size, 0) || 1;
    let sent = 0;
    let landed = '';
    const refused = [];
    bar.parentElement.hidden = false;
    form.querySelector('button[type=submit]').disabled = true;
    const next = (i) => {
      if (i === files.length) {
        bar.value = 100;
        const list = form.action.replace(/\/from-receipts$/, '');
        if (refused.length) {
          // Say what was refused, and stay: the rest are on the list.
          text.textContent = (files.length - refused.length) + ' of ' + files.length + ' added. Refused: ' + refused.join('; ');
          const link = document.createElement('a');
          link.href = list;
          link.textContent = ' See your expenses.';
          text.append(link);
          form.querySelector('button[type=submit]').disabled = false;
          return;
        }
        text.textContent = files.length + ' of ' + files.length + ' sent.';
        window.location.assign(files.length === 1 && landed ? landed : list);
        return;
      }
      const data = new FormData();
      data.append('csrf', csrf);
      data.append('file', files[i]);
      const xhr = new XMLHttpRequest();
      xhr.open('POST', form.action);
      xhr.setRequestHeader('X-Outlay-Upload', '1');
      xhr.responseType = 'json';
      xhr.upload.addEventListener('progress', (e) => {
        bar.value = Math.round((100 * (sent + e.loaded)) / total);
        text.textContent = 'Sending ' + (i + 1) + ' of ' + files.length + ': ' + bar.value + ' %';
      });
      xhr.addEventListener('load', () => {
        const answer = xhr.response || {};
        if (xhr.status === 200 && answer.expense) landed = answer.expense;
        else refused.push(answer.error || files[i].name + ': the server answered ' + xhr.status);
        sent += files[i].size;
        next(i + 1);
      });
      xhr.addEventListener('error', () => {
        refused.push(files[i].name + ': the upload did not arrive');
        sent += files[i].size;
        next(i + 1);
      });
      xhr.send(data);
    };
    next(0);
  });
}

// A receipt still being read: look again every two seconds, for a minute at most.
if (document.querySelector('[data-reading-pending]')) {
  const key = 'outlay-reading:' + location.pathname;
  const tries = Number(sessionStorage.getItem(key) || '0');
  if (tries < 30) {
    sessionStorage.setItem(key, String(tries + 1));
    setTimeout(() => location.reload(), 2000);
  }
} else {
  sessionStorage.removeItem('outlay-reading:' + location.pathname);
}
