package organize

import (
	"mime"
	"path"
	"strings"
)

// by_type folders.
const (
	CategoryDocuments = "Documents"
	CategoryImages    = "Images"
	CategoryVideo     = "Video"
	CategoryAudio     = "Audio"
	CategoryArchives  = "Archives"
	CategoryCode      = "Code"
	CategoryOther     = "Other"
)

// Categories lists the by_type folders.
var Categories = []string{
	CategoryDocuments, CategoryImages, CategoryVideo, CategoryAudio, CategoryArchives, CategoryCode, CategoryOther,
}

// categoryOf maps lower-case extensions, without the dot, to their by_type folder.
var categoryOf = map[string]string{}

func init() {
	for cat, exts := range map[string]string{
		CategoryDocuments: "pdf doc docx docm dot dotx odt ott rtf txt text md markdown rst org tex " +
			"xls xlsx xlsm ods csv tsv ppt pptx odp key pages numbers epub mobi azw3 djvu xps " +
			"one msg eml vcf ics",
		CategoryImages: "jpg jpeg jpe jfif png gif bmp tif tiff webp heic heif avif jxl svg ico icns psd " +
			"xcf ai eps raw dng cr2 cr3 crw nef nrw arw srf sr2 orf rw2 raf pef srw x3f 3fr kdc",
		CategoryVideo: "mp4 m4v mov qt avi mkv webm wmv flv f4v mpg mpeg mpe m2v m2ts mts vob ogv " +
			"3gp 3g2 mxf rm rmvb divx asf",
		CategoryAudio: "mp3 wav wave flac aac ogg oga opus m4a m4b wma aif aiff aifc alac ape mid midi " +
			"amr au snd wv dsf dff mka",
		CategoryArchives: "zip zipx tar gz tgz bz2 tbz tbz2 xz txz zst tzst lz lzma tlz z 7z rar cab " +
			"arj lzh iso img dmg jar war ear apk deb rpm pkg msi cpio sit sitx xar " +
			"tar.gz tar.bz2 tar.xz tar.zst tar.lz tar.lzma tar.z",
		CategoryCode: "go py pyi pyw ipynb js mjs cjs jsx ts tsx cts java kt kts scala groovy gradle " +
			"c h cc cpp cxx hh hpp hxx m mm cs fs fsx vb swift rs rb php pl pm lua r jl dart " +
			"ex exs erl hrl hs clj cljs elm ml mli nim zig v sol sh bash zsh fish ps1 psm1 bat cmd " +
			"sql html htm xhtml css scss sass less vue svelte json jsonc json5 yaml yml toml xml xsd xsl " +
			"ini cfg conf properties env proto graphql gql tf hcl mk cmake mod sum lock patch diff asm s wasm",
	} {
		for _, ext := range strings.Fields(exts) {
			categoryOf[ext] = cat
		}
	}
}

// codeNames are base names, lower-case, of code files without an extension.
var codeNames = map[string]bool{
	"makefile": true, "dockerfile": true, "containerfile": true, "jenkinsfile": true, "vagrantfile": true,
	"gemfile": true, "rakefile": true, "procfile": true, "justfile": true, "cmakelists.txt": true,
}

// Category returns the by_type folder of a file name (a base name or a path): Documents,
// Images, Video, Audio, Archives, Code or Other. It goes by the extension; an unknown one falls
// back to mime.TypeByExtension (image/* → Images, video/* → Video, audio/* → Audio, text/* →
// Documents), a name without extension is Other (Makefile, Dockerfile and the like are Code).
func Category(name string) string {
	base := path.Base(name)
	if codeNames[strings.ToLower(base)] {
		return CategoryCode
	}
	ext := strings.ToLower(strings.TrimPrefix(extension(base), "."))
	if ext == "" {
		return CategoryOther
	}
	if cat, ok := categoryOf[ext]; ok {
		return cat
	}
	if i := strings.LastIndexByte(ext, '.'); i >= 0 { // compound: "tar.foo" goes by "foo"
		if cat, ok := categoryOf[ext[i+1:]]; ok {
			return cat
		}
		ext = ext[i+1:]
	}
	typ, _, _ := strings.Cut(mime.TypeByExtension("."+ext), ";")
	switch major, _, _ := strings.Cut(typ, "/"); major {
	case "image":
		return CategoryImages
	case "video":
		return CategoryVideo
	case "audio":
		return CategoryAudio
	case "text":
		return CategoryDocuments
	}
	return CategoryOther
}

// mimeOf maps lower-case extensions to their MIME type where the system tables may lack one.
var mimeOf = map[string]string{
	"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp",
	"bmp": "image/bmp", "tif": "image/tiff", "tiff": "image/tiff", "heic": "image/heic", "heif": "image/heif",
	"avif": "image/avif", "svg": "image/svg+xml", "ico": "image/vnd.microsoft.icon",
	"mp4": "video/mp4", "m4v": "video/x-m4v", "mov": "video/quicktime", "mkv": "video/x-matroska",
	"webm": "video/webm", "avi": "video/x-msvideo", "mpg": "video/mpeg", "mpeg": "video/mpeg",
	"mp3": "audio/mpeg", "flac": "audio/flac", "wav": "audio/wav", "m4a": "audio/mp4", "ogg": "audio/ogg",
	"opus": "audio/opus", "aac": "audio/aac",
	"txt": "text/plain", "md": "text/markdown", "csv": "text/csv", "html": "text/html", "htm": "text/html",
	"css": "text/css", "pdf": "application/pdf", "zip": "application/zip", "json": "application/json",
	"xml": "application/xml", "gz": "application/gzip", "tar": "application/x-tar",
	"7z": "application/x-7z-compressed", "js": "text/javascript",
}

// mimeType returns the MIME type of base by its extension, without parameters, or "".
func mimeType(base string) string {
	ext := strings.ToLower(strings.TrimPrefix(extension(base), "."))
	if i := strings.LastIndexByte(ext, '.'); i >= 0 {
		ext = ext[i+1:]
	}
	if ext == "" {
		return ""
	}
	if t, ok := mimeOf[ext]; ok {
		return t
	}
	t, _, _ := strings.Cut(mime.TypeByExtension("."+ext), ";")
	return strings.ToLower(strings.TrimSpace(t))
}
