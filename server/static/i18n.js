// imgedit web page: its words in English and Chinese. The page follows the browser's language
// (navigator.languages) until the user picks one with the switch; the choice is remembered.
// Instructions the page sends for the user (theme buttons) are written in the chosen language, so
// the conversation stays in it: the server answers in the language of each instruction.
"use strict";

const MESSAGES = {
  en: {
    tagline: "Edit images by saying what you want",
    apiKey: "API key",
    connect: "Connect",
    connected: "connected",
    offline: "offline",
    noKey: "no key",
    badKey: "bad key",
    switchTo: "中文",
    switchLabel: "切换到中文",
    newSession: "New session",
    conversation: "Conversation",
    chatEmpty: "Upload a photo below, then say what to change: “make it brighter”, “remove the watermark”, a theme…",
    image: "Image",
    dropHint: "Drop an image here, or click to upload",
    messageLabel: "What to change",
    messagePlaceholder: "e.g. make it brighter",
    send: "Send",
    emptyMessage: "Write what to change first, e.g. “make it brighter”.",
    noImageYet: "Upload an image first: drop it above or click the box.",
    noImage: "No image yet",
    before: "Before",
    after: "After",
    sliderLabel: "Before and after: drag to compare",
    undo: "↶ Undo",
    redo: "↷ Redo",
    download: "Download",
    moreDownloads: "More downloads",
    downloadImage: "This version's image",
    downloadAudit: "Audit record (JSON)",
    versions: "Versions",
    themes: "Themes",
    decks: "Decks",
    original: "original",
    version: (n) => `v${n}`,
    versionLabel: (image, number, count) => `image ${image} · version ${number} of ${count}`,
    versionName: (n) => (n === 0 ? "the original" : `version ${n}`),
    branchFrom: (name) => `a new branch from ${name}`,
    current: "current",
    uploaded: (name) => `Uploaded ${name}`,
    done: (instruction) => `Done: ${instruction}`,
    refused: "Can't do that as asked",
    tryThese: "Try one of these:",
    status: { queued: "queued", running: "running", done: "done", failed: "failed", cancelled: "cancelled" },
    cancel: "Cancel",
    editWas: (status) => `The edit was ${status}.`,
    themeInstruction: (theme) => `apply the ${theme.name} theme`,
    themeLabel: (theme) => theme.name_en,
    deckFile: "Choose a deck (.pptx)",
    deckTheme: "Theme for every picture",
    deckPrompt: "Or an instruction for every picture",
    deckPromptPlaceholder: "or an instruction",
    deckPictures: "Which pictures",
    picturesDefault: "Photos for a theme, all for an instruction",
    picturesPhotos: "Photos only (logos and charts keep their colours)",
    picturesAll: "Every picture",
    themeColors: "Theme colours too",
    restyleDeck: "Restyle deck",
    chooseDeck: "Choose a .pptx deck first.",
    uploading: "uploading…",
    restyling: "restyling…",
    restylingProgress: (done, total) => `restyling pictures: ${done} of ${total}`,
    restyleWas: (status) => `The restyle was ${status}.`,
    downloadFile: (name) => `Download ${name}`,
  },
  zh: {
    tagline: "用一句话修图",
    apiKey: "API 密钥",
    connect: "连接",
    connected: "已连接",
    offline: "未连接",
    noKey: "缺少密钥",
    badKey: "密钥无效",
    switchTo: "English",
    switchLabel: "Switch to English",
    newSession: "新会话",
    conversation: "对话",
    chatEmpty: "先在下方上传一张照片，再说想怎么改：“提亮一点”“去掉水印”，或选一个主题……",
    image: "图片",
    dropHint: "把图片拖到这里，或点击上传",
    messageLabel: "想怎么改",
    messagePlaceholder: "例如：把图片调亮一点",
    send: "发送",
    emptyMessage: "请先写下想怎么改，例如“提亮一点”。",
    noImageYet: "请先上传一张图片：拖到上方，或点击方框。",
    noImage: "还没有图片",
    before: "修改前",
    after: "修改后",
    sliderLabel: "修改前后对比：拖动查看",
    undo: "↶ 撤销",
    redo: "↷ 重做",
    download: "下载",
    moreDownloads: "更多下载",
    downloadImage: "此版本的图片",
    downloadAudit: "审计记录（JSON）",
    versions: "版本",
    themes: "主题",
    decks: "幻灯片",
    original: "原图",
    version: (n) => `第${n}版`,
    versionLabel: (image, number, count) => `图 ${image} · 第 ${number} 版（共 ${count} 版）`,
    versionName: (n) => (n === 0 ? "原图" : `第${n}版`),
    branchFrom: (name) => `从${name}分出的新分支`,
    current: "当前",
    uploaded: (name) => `已上传 ${name}`,
    done: (instruction) => `已完成：${instruction}`,
    refused: "没法按这个要求修改",
    tryThese: "可以试试：",
    status: { queued: "排队中", running: "处理中", done: "完成", failed: "失败", cancelled: "已取消" },
    cancel: "取消",
    editWas: (status) => `这次修改${status === "cancelled" ? "已取消" : "失败了"}。`,
    themeInstruction: (theme) => `${theme.name_zh}风格`,
    themeLabel: (theme) => theme.name_zh,
    deckFile: "选择幻灯片（.pptx）",
    deckTheme: "所有图片使用的主题",
    deckPrompt: "或者一句对所有图片的指令",
    deckPromptPlaceholder: "或一句指令",
    deckPictures: "哪些图片",
    picturesDefault: "主题只改照片，指令改全部",
    picturesPhotos: "只改照片（标志和图表保持原色）",
    picturesAll: "全部图片",
    themeColors: "同时修改主题配色",
    restyleDeck: "改整套幻灯片",
    chooseDeck: "请先选择一个 .pptx 文件。",
    uploading: "上传中…",
    restyling: "处理中…",
    restylingProgress: (done, total) => `正在处理图片：${done} / ${total}`,
    restyleWas: (status) => `处理${status === "cancelled" ? "已取消" : "失败了"}。`,
    downloadFile: (name) => `下载 ${name}`,
  },
};

/** The language to start in: the user's choice, else the browser's first zh or en language. */
function initialLanguage() {
  const saved = localStorage.getItem("imgedit.lang");
  if (saved === "zh" || saved === "en") return saved;
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const base = tag.toLowerCase().split("-")[0];
    if (base === "zh" || base === "en") return base;
  }
  return "en";
}

const i18n = {
  lang: initialLanguage(),
  /** A word or a sentence (functions take their arguments). */
  t(key, ...args) {
    const value = MESSAGES[this.lang][key] ?? MESSAGES.en[key];
    return typeof value === "function" ? value(...args) : value;
  },
  /** Put the chosen language's words into the page: text, placeholders and accessible names. */
  apply() {
    document.documentElement.lang = this.lang === "zh" ? "zh-CN" : "en";
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = this.t(el.dataset.i18n);
    for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = this.t(el.dataset.i18nPlaceholder);
    for (const el of document.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", this.t(el.dataset.i18nLabel));
    for (const el of document.querySelectorAll("[data-i18n-empty]")) el.dataset.empty = this.t(el.dataset.i18nEmpty);
    const other = this.lang === "zh" ? "en" : "zh";
    const button = document.getElementById("lang");
    button.textContent = this.t("switchTo");
    button.lang = other === "zh" ? "zh-CN" : "en";
    button.setAttribute("aria-label", this.t("switchLabel"));
  },
  set(lang) {
    this.lang = lang;
    localStorage.setItem("imgedit.lang", lang);
    this.apply();
  },
};
