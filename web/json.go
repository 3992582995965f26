package web

import (
	"bytes"
	"encoding/json"
	"strconv"
	"sync"

	"github.com/labstack/echo/v4"
)

// jsonSerializer is echo's JSON serializer for every JSON answer (the API's and the errors'): the
// body is encoded whole first and goes out with its Content-Length in one write. echo's default
// streams it through net/http's 2 KB chunking buffer, so a 2.7 KB fetch answer left in chunks, in
// several writes. The pooled buffer may have held a secret's value: it is cleared before reuse.
type jsonSerializer struct{ echo.DefaultJSONSerializer }

// maxPooledJSON is the largest buffer kept for reuse: a 5 MB value's is left to the GC.
const maxPooledJSON = 64 << 10

var jsonBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (jsonSerializer) Serialize(c echo.Context, v any, indent string) error {
	buf := jsonBufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledJSON {
			clear(buf.Bytes())
			buf.Reset()
			jsonBufs.Put(buf)
		}
	}()
	enc := json.NewEncoder(buf)
	if indent != "" {
		enc.SetIndent("", indent)
	}
	if err := enc.Encode(v); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(buf.Len()))
	_, err := c.Response().Write(buf.Bytes())
	return err
}
